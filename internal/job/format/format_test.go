package format

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

type got struct {
	recs []Record
	errs []*Error
	err  error // a fatal or I/O error that ended reading
}

func readAll(t *testing.T, input []byte, o Options) got {
	t.Helper()
	r, err := NewReader(bytes.NewReader(input), o)
	if err != nil {
		return got{err: err}
	}
	var g got
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return g
		}
		var fe *Error
		if errors.As(err, &fe) && !fe.Fatal {
			g.errs = append(g.errs, fe)
			continue
		}
		if err != nil {
			g.err = err
			return g
		}
		g.recs = append(g.recs, rec)
	}
}

func TestCSVDialects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    string
		o     Options
		want  []map[string]any
		lines []int64
	}{
		{"rfc4180", "a,b\n1,\"x,y\"\n\"2\",\"he said \"\"hi\"\"\"\n", Options{},
			[]map[string]any{{"a": "1", "b": "x,y"}, {"a": "2", "b": `he said "hi"`}}, []int64{2, 3}},
		{"crlf and multiline", "a,b\r\n1,\"line1\r\nline2\"\r\n\r\n3,4", Options{},
			[]map[string]any{{"a": "1", "b": "line1\nline2"}, {"a": "3", "b": "4"}}, []int64{2, 5}},
		{"semicolon and single quote", "a;b\n'x;1';y\n", Options{Delimiter: ";", Quote: "'"},
			[]map[string]any{{"a": "x;1", "b": "y"}}, []int64{2}},
		{"tab no quoting", "a\tb\n\"x\ty\n", Options{Delimiter: "\t", Quote: "none"},
			[]map[string]any{{"a": `"x`, "b": "y"}}, []int64{2}},
		{"no header", "1,2\n3,4\n", Options{NoHeader: true, Columns: []string{"x", "y"}},
			[]map[string]any{{"x": "1", "y": "2"}, {"x": "3", "y": "4"}}, []int64{1, 2}},
		{"header mapping", "Product No,Price\nP1,9.5\n", Options{Headers: map[string]string{"Product No": "productnumber"}},
			[]map[string]any{{"productnumber": "P1", "Price": "9.5"}}, []int64{2}},
		{"utf-8 bom", "\ufeffname,qty\nx,1\n", Options{},
			[]map[string]any{{"name": "x", "qty": "1"}}, []int64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := readAll(t, []byte(tc.in), tc.o)
			if g.err != nil || len(g.errs) > 0 {
				t.Fatalf("errors: %v %v", g.err, g.errs)
			}
			if len(g.recs) != len(tc.want) {
				t.Fatalf("got %d records %+v, want %d", len(g.recs), g.recs, len(tc.want))
			}
			for i, r := range g.recs {
				if r.Line != tc.lines[i] {
					t.Errorf("record %d: line %d, want %d", i, r.Line, tc.lines[i])
				}
				for k, v := range tc.want[i] {
					if r.Fields[k] != v {
						t.Errorf("record %d field %q = %q, want %q", i, k, r.Fields[k], v)
					}
				}
				if len(r.Fields) != len(tc.want[i]) {
					t.Errorf("record %d has fields %v", i, r.Fields)
				}
			}
		})
	}
}

func TestCSVEncodings(t *testing.T) {
	t.Parallel()
	text := "name,city\nZoë,Malmö\n"
	utf16le, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(text)
	utf16be, _ := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().String(text)
	cp1252, _ := charmap.Windows1252.NewEncoder().String(text)
	for _, tc := range []struct {
		name, in, enc string
	}{
		{"utf-16le bom sniffed", utf16le, ""},
		{"utf-16be bom sniffed", utf16be, ""},
		{"utf-16 declared", utf16le, "utf-16"},
		{"windows-1252", cp1252, "windows-1252"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := readAll(t, []byte(tc.in), Options{Encoding: tc.enc})
			if g.err != nil || len(g.errs) > 0 || len(g.recs) != 1 {
				t.Fatalf("got %+v", g)
			}
			if g.recs[0].Fields["name"] != "Zoë" || g.recs[0].Fields["city"] != "Malmö" {
				t.Fatalf("decoded %v", g.recs[0].Fields)
			}
		})
	}
	// Windows-1252 bytes read as UTF-8 are a located error, not mojibake.
	g := readAll(t, []byte(cp1252), Options{})
	if len(g.errs) != 1 || g.errs[0].Line != 2 || g.errs[0].Column != "name" || !strings.Contains(g.errs[0].Msg, "windows-1252") {
		t.Fatalf("got %+v %v", g.recs, g.errs)
	}
	if _, err := NewReader(strings.NewReader(""), Options{Encoding: "ebcdic"}); err == nil {
		t.Fatal("unknown encoding accepted")
	}
}

func TestCSVBadRows(t *testing.T) {
	t.Parallel()
	in := "a,b\n1,2\n3\n\"x\"y,4\n5,6\n7,\"open\n"
	g := readAll(t, []byte(in), Options{})
	if len(g.recs) != 2 || g.recs[0].Fields["a"] != "1" || g.recs[1].Fields["a"] != "5" {
		t.Fatalf("records %+v", g.recs)
	}
	if len(g.errs) != 3 {
		t.Fatalf("errors %v", g.errs)
	}
	wantLines := []int64{3, 4, 6}
	for i, e := range g.errs {
		if e.Line != wantLines[i] {
			t.Errorf("error %d at line %d, want %d: %v", i, e.Line, wantLines[i], e)
		}
	}
	if !strings.Contains(g.errs[2].Msg, "truncated") {
		t.Errorf("truncated field message: %v", g.errs[2])
	}
	if g := readAll(t, nil, Options{}); g.err == nil {
		t.Fatal("an empty file has no header and must fail")
	}
	if g := readAll(t, []byte("a,a\n1,2\n"), Options{}); g.err == nil {
		t.Fatal("a duplicate header must fail")
	}
	long := "a\n" + strings.Repeat("x", 2000) + "\nok\n"
	g = readAll(t, []byte(long), Options{MaxRecordBytes: 100})
	if len(g.errs) != 1 || len(g.recs) != 1 || g.recs[0].Fields["a"] != "ok" {
		t.Fatalf("long row: %+v", g)
	}
	if g := readAll(t, []byte("a\n1\n2\n3\n"), Options{MaxBytes: 5}); !errors.Is(g.err, ErrTooLarge) {
		t.Fatalf("size cap: %v", g.err)
	}
}

func TestXML(t *testing.T) {
	t.Parallel()
	in := `<?xml version="1.0" encoding="UTF-8"?>
<products>
  <product id="1">
    <name>Bolt &amp; nut</name>
    <price currency="EUR">1.50</price>
    <dims><w>3</w></dims>
  </product>
  <product id="2"><name>Washer</name><price>0.10</price></product>
</products>`
	g := readAll(t, []byte(in), Options{Format: "xml", Record: "product"})
	if g.err != nil || len(g.errs) > 0 || len(g.recs) != 2 {
		t.Fatalf("got %+v", g)
	}
	r := g.recs[0]
	if r.Line != 3 || r.Fields["@id"] != "1" || r.Fields["name"] != "Bolt & nut" || r.Fields["price"] != "1.50" ||
		r.Fields["price@currency"] != "EUR" || r.Fields["dims/w"] != "3" {
		t.Fatalf("record %+v", r)
	}
	if g.recs[1].Line != 8 || g.recs[1].Fields["name"] != "Washer" {
		t.Fatalf("record %+v", g.recs[1])
	}
	for _, tc := range []struct{ name, in, want string }{
		{"external entity", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><record><a>&x;</a></record></r>`, "DOCTYPE"},
		{"undefined entity", `<r><record><a>&x;</a></record></r>`, "entity"},
		{"depth", "<r>" + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + "</r>", "deeper"},
		{"truncated", `<r><record><a>1</a></record><record><a>`, "truncated"},
		{"mismatched", `<r><record><a>1</b></record></r>`, "syntax"},
		{"declared latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><r/>`, "encoding"},
	} {
		g := readAll(t, []byte(tc.in), Options{Format: "xml"})
		if g.err == nil || !strings.Contains(strings.ToLower(g.err.Error()), strings.ToLower(tc.want)) {
			t.Errorf("%s: got %v, want an error about %q", tc.name, g.err, tc.want)
		}
	}
	g = readAll(t, []byte(`<r><record><a>1</a><a>2</a></record><record><a>3</a></record></r>`), Options{Format: "xml"})
	if len(g.errs) != 1 || g.errs[0].Column != "a" || len(g.recs) != 1 {
		t.Fatalf("repeated element: %+v", g)
	}
	big := "<r><record><a>" + strings.Repeat("x", 5000) + "</a></record></r>"
	if g := readAll(t, []byte(big), Options{Format: "xml", MaxRecordBytes: 1000}); g.err == nil {
		t.Fatal("a record over the cap was read")
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	in := "[\n {\"a\": 1, \"b\": \"x\"},\n\n {\"a\": 2.5,\n  \"nested\": {\"c\": true}}\n]\n"
	g := readAll(t, []byte(in), Options{Format: "json"})
	if g.err != nil || len(g.errs) > 0 || len(g.recs) != 2 {
		t.Fatalf("got %+v", g)
	}
	if g.recs[0].Line != 2 || g.recs[1].Line != 4 || Text(g.recs[1].Fields["a"]) != "2.5" {
		t.Fatalf("records %+v", g.recs)
	}
	stream := "{\"a\":1}\n{\"a\":2}\n"
	g = readAll(t, []byte(stream), Options{Format: "json"})
	if g.err != nil || len(g.recs) != 2 || g.recs[1].Line != 2 {
		t.Fatalf("stream %+v", g)
	}
	g = readAll(t, []byte("[{\"a\":1}, 5, {\"a\":2}]"), Options{Format: "json"})
	if len(g.recs) != 2 || len(g.errs) != 1 {
		t.Fatalf("non-object element %+v", g)
	}
	for _, bad := range []string{"[{\"a\":1},\n{\"a\":", "[{\"a\":1}}", "\"x\"", "[{\"a\":1}] x"} {
		if g := readAll(t, []byte(bad), Options{Format: "json"}); g.err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	big := "[{\"a\":\"" + strings.Repeat("x", 300000) + "\"}]"
	if g := readAll(t, []byte(big), Options{Format: "json", MaxRecordBytes: 1000}); g.err == nil {
		t.Fatal("a record over the cap was read")
	}
}

func TestJSONLines(t *testing.T) {
	t.Parallel()
	in := "{\"a\":1}\n\n{\"a\":\n{\"a\":3}\n[1]\n"
	g := readAll(t, []byte(in), Options{Format: "jsonl"})
	if g.err != nil || len(g.recs) != 2 || len(g.errs) != 2 {
		t.Fatalf("got %+v", g)
	}
	if g.recs[1].Line != 4 || g.errs[0].Line != 3 || g.errs[1].Line != 5 {
		t.Fatalf("lines %+v %+v", g.recs, g.errs)
	}
}

func TestWriters(t *testing.T) {
	t.Parallel()
	cols := []Column{{"id", TypeString}, {"qty", TypeInt}, {"price", TypeDecimal}, {"ok", TypeBool}, {"at", TypeDateTime}, {"day", TypeDate}, {"f", TypeFloat}}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rows := []map[string]any{
		{"id": "a,1", "qty": int64(3), "price": "1.50", "ok": true, "at": at, "day": at, "f": 0.5},
		{"id": "b", "qty": nil, "price": nil, "ok": false, "at": nil, "day": nil, "f": nil},
	}
	write := func(format string) []byte {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, format, cols)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	csvOut := string(write("csv"))
	if want := "id,qty,price,ok,at,day,f\n\"a,1\",3,1.50,true,2026-03-04T05:06:07Z,2026-03-04,0.5\nb,,,false,,,\n"; csvOut != want {
		t.Fatalf("csv:\n%s\nwant\n%s", csvOut, want)
	}
	jl := string(write("jsonl"))
	if want := `{"id":"a,1","qty":3,"price":1.50,"ok":true,"at":"2026-03-04T05:06:07Z","day":"2026-03-04","f":0.5}` + "\n" +
		`{"id":"b","qty":null,"price":null,"ok":false,"at":null,"day":null,"f":null}` + "\n"; jl != want {
		t.Fatalf("jsonl:\n%s\nwant\n%s", jl, want)
	}
	pq := write("parquet")
	f, err := parquet.OpenFile(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != 2 {
		t.Fatalf("parquet rows %d", f.NumRows())
	}
	type out struct {
		ID    *string    `parquet:"id"`
		Qty   *int64     `parquet:"qty"`
		Price *string    `parquet:"price"`
		OK    *bool      `parquet:"ok"`
		At    *time.Time `parquet:"at,timestamp(microsecond)"`
		F     *float64   `parquet:"f"`
	}
	got, err := parquet.Read[out](bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatal(err)
	}
	if *got[0].ID != "a,1" || *got[0].Qty != 3 || *got[0].Price != "1.50" || !*got[0].OK || !got[0].At.Equal(at) || *got[0].F != 0.5 {
		t.Fatalf("parquet row 0: %+v", got[0])
	}
	if got[1].Qty != nil || got[1].At != nil || *got[1].OK {
		t.Fatalf("parquet row 1: %+v", got[1])
	}
	if _, err := NewWriter(io.Discard, "xlsx", cols); err == nil {
		t.Fatal("unknown output format accepted")
	}
}
