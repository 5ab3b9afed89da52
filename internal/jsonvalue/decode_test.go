package jsonvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// stdDecode is the oracle: encoding/json with numbers kept as json.Number.
func stdDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`{}`, `[]`, ` [1, -2.5e3, 0, -0.0, 1E+2] `, `{"a":{"b":[true,false,null,"x"]},"c":""}`,
		`"esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00"`, `"héllo"`, "\"bad utf8 \xff\"", `{"a":1,"a":2}`,
		`[[[[]]]]`, `12345678901234567890123`, `"\ud800"`,
		`{"a" 1}`, `[1,]`, `[1 2]`, `{"a":1,}`, `01`, `1.`, `-`, `1e`, `tru`, `nul`, `"abc`, "\"ctl \x01\"", `[1]x`, ``, `{"a":`, `"\x"`,
	} {
		want, werr := stdDecode([]byte(s))
		got, gerr := Decode([]byte(s), Options{})
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%q: error %v, encoding/json %v", s, gerr, werr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, want %#v", s, got, want)
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		lim   Limits
		depth bool // refused for depth; false with ok false: for values
		ok    bool
	}{
		{"within", `{"a":[1,2,3]}`, Limits{MaxDepth: 2, MaxValues: 5}, false, true},
		{"too deep", `{"a":[[1]]}`, Limits{MaxDepth: 2}, true, false},
		{"too many values", `[1,2,3,4,5]`, Limits{MaxValues: 5}, false, false},
		{"deep nesting refused before the end", strings.Repeat("[", 100000), Limits{MaxDepth: 64}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tc.in), Options{Limits: tc.lim})
			var le *LimitError
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &le) || le.Depth != tc.depth {
				t.Fatalf("got %v, want a limit error (depth %v)", err, tc.depth)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",null,true]}`, `"\u00e9\n"`, `-1.5e-3`, `[[],{}]`, "\"\xff\"", `{"a":1,"a":{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := stdDecode([]byte(s))
		got, gerr := Decode([]byte(s), Options{})
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: error %v, encoding/json %v", s, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, want %#v", s, got, want)
		}
		if _, err := Decode([]byte(s), Options{Limits: Limits{MaxDepth: 3, MaxValues: 10}}); err == nil && werr == nil {
			if n := count(got); n > 10 {
				t.Fatalf("%q: %d values passed a limit of 10", s, n)
			}
		}
	})
}

func count(v any) int {
	switch v := v.(type) {
	case []any:
		n := 1
		for _, x := range v {
			n += count(x)
		}
		return n
	case map[string]any:
		n := 1
		for _, x := range v {
			n += count(x)
		}
		return n
	}
	return 1
}
