package webapi

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// stdJSON is what json.Encoder with SetEscapeHTML(false) writes for v, and
// whether it accepts v.
func stdJSON(v any) ([]byte, bool) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return b.Bytes(), true
}

func checkJSON(t *testing.T, v any) {
	t.Helper()
	want, wantOK := stdJSON(v)
	buf, ok := encodeJSON(v)
	if ok != wantOK {
		t.Fatalf("%#v: accepted %v, encoding/json %v", v, ok, wantOK)
	}
	if !ok {
		return
	}
	defer releaseJSON(buf)
	if !bytes.Equal(*buf, want) {
		t.Fatalf("%#v:\n got %q\nwant %q", v, *buf, want)
	}
}

// TestEncodeJSONAsEncodingJSON: the answers' encoder writes the bytes
// encoding/json writes, for the values answers hold and for others.
func TestEncodeJSONAsEncodingJSON(t *testing.T) {
	t.Parallel()
	strs := []string{"", "plain", `quote " and \ backslash`, "<a href='x'>&amp;</a>", "tab\tnew\nline\rret\bbs\fff",
		"\x00\x01\x1f\x7f", "é ü 日本 🙂", "bad \xff utf8 \xc3", "sep \u2028 and \u2029", "\u2027\u202a"}
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e20, 1e21, 123456789012345678, 1e-6, 1e-7, 9.999e-7, -2.5e-10, 1.7976931348623157e308, 5e-324, 3.14159}
	var vals []any
	for _, s := range strs {
		vals = append(vals, s)
	}
	for _, f := range floats {
		vals = append(vals, f)
	}
	vals = append(vals, nil, true, false, 0, -42, int64(math.MaxInt64), int64(math.MinInt64), int32(7), uint8(200),
		json.Number("12.50"), time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC), map[string]string{"b": "<1>", "a": "2"},
		[]string{"x", "<y>"}, struct {
			A string `json:"a"`
		}{"&"}, json.RawMessage(`{"z": 1,  "a":[ 2 ]}`), []byte("bytes"),
		map[string]any(nil), []any(nil), []map[string]any(nil), []any{}, map[string]any{}, []map[string]any{})
	for _, v := range vals {
		checkJSON(t, v)
	}
	obj := map[string]any{}
	for i, v := range vals {
		obj[string(rune('a'+i%26))+strs[i%len(strs)]] = v
	}
	obj["@odata.context"] = "http://h/api/data/v9.2/$metadata#accounts(name)/$entity"
	obj["@odata.etag"] = `W/"1"`
	obj["nested"] = map[string]any{"list": []any{1.5, "x", nil, map[string]any{"k": []map[string]any{{"z": 1.0, "a": "b"}}}}}
	checkJSON(t, obj)
	checkJSON(t, []any{obj, obj})
	checkJSON(t, []map[string]any{obj})
	// Rows with the same keys share their order; rows with other keys, as
	// many or not, have their own.
	rows := []map[string]any{{"b": 1.0, "a": "x"}, {"a": "y", "b": 2.0}, {"a": 1.0, "c": 3.0}, {"c": nil, "b": true, "a": "z"}, nil, {}, {"a": 0.0, "b": 0.0}}
	checkJSON(t, rows)
	list := []any{map[string]any{"b": 1.0, "a": "x"}, map[string]any{"c": 1.0, "a": "y"}, "text", map[string]any(nil), map[string]any{"a": "y", "c": 2.0}}
	checkJSON(t, list)
	// Values encoding/json refuses fail the whole answer.
	for _, v := range []any{math.NaN(), math.Inf(1), map[string]any{"a": math.Inf(-1)}, []any{make(chan int)}, map[string]any{"f": func() {}}} {
		checkJSON(t, v)
	}
}

func FuzzEncodeJSON(f *testing.F) {
	f.Add("name", "Contoso <Ltd> & \"Sons\"", 12.5, int64(3), true)
	f.Add("\u2028", "\xff\xfe", 1e-9, int64(-1), false)
	f.Fuzz(func(t *testing.T, k, s string, x float64, n int64, flag bool) {
		checkJSON(t, map[string]any{k: s, s: x, "n": n, "b": flag, "l": []any{s, x, map[string]any{k: nil}}})
		checkJSON(t, []map[string]any{{k: s, "n": n}, {s: x, "n": n}, {"n": n, k: flag}, {k: nil}})
	})
}
