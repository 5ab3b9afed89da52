package format

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// drain reads every record, checking that the reader neither panics nor
// loops, and that records and errors carry a line number.
func drain(t *testing.T, data []byte, o Options) {
	r, err := NewReader(bytes.NewReader(data), o)
	if err != nil {
		return
	}
	for i := 0; i < len(data)+2; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			return
		}
		var fe *Error
		if errors.As(err, &fe) {
			if fe.Line < 1 && len(data) > 0 && fe.Msg == "" {
				t.Fatalf("error without a location: %v", fe)
			}
			if fe.Fatal {
				return
			}
			continue
		}
		if err != nil {
			return
		}
		if rec.Line < 1 {
			t.Fatalf("record without a line: %+v", rec)
		}
	}
	t.Fatalf("more records than bytes in %q", data)
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,b\r\n\"x\"\"y\",\"1\n2\"\r\n", "\ufeffa\n1", "a\n\"", "a;b\n'x';y", "a,b\n1,\"2\"x\n"} {
		f.Add([]byte(s), byte(','), byte('"'))
	}
	f.Fuzz(func(t *testing.T, data []byte, delim, quote byte) {
		o := Options{Delimiter: string([]byte{delim}), Quote: string([]byte{quote}), MaxRecordBytes: 4096}
		drain(t, data, o)
	})
}

func FuzzXML(f *testing.F) {
	for _, s := range []string{"<r><record a=\"1\"><x>1</x></record></r>", "<!DOCTYPE r [<!ENTITY x \"y\">]><r/>", "<r><record><a><b>2</b></a></record>", "<?xml version=\"1.0\"?><r/>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		drain(t, data, Options{Format: "xml", MaxDepth: 8, MaxRecordBytes: 4096})
	})
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{"[{\"a\":1},{\"b\":[1,2]}]", "{\"a\":1}\n{\"a\":2}", "[1,{}", "\n\n[\n{\"a\":\"\\u00e9\"}\n]"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, lines bool) {
		o := Options{Format: "json", MaxRecordBytes: 4096}
		if lines {
			o.Format = "jsonl"
		}
		drain(t, data, o)
	})
}
