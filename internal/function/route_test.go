package function

import (
	"reflect"
	"testing"
)

func TestRouteMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl, path string
		want       map[string]string // nil: no match
	}{
		{"hello", "hello", map[string]string{}},
		{"hello", "HELLO/", map[string]string{}},
		{"hello", "hello/x", nil},
		{"products/{category:alpha}/{id:int?}", "products/books/7", map[string]string{"category": "books", "id": "7"}},
		{"products/{category:alpha}/{id:int?}", "products/books", map[string]string{"category": "books"}},
		{"products/{category:alpha}/{id:int?}", "products/b00ks/7", nil},
		{"products/{category:alpha}/{id:int?}", "products/books/x", nil},
		{"files/{*path}", "files/a/b/c.txt", map[string]string{"path": "a/b/c.txt"}},
		{"files/{*path}", "files", map[string]string{}},
		{"items/{id:guid}", "items/8f6a2c1e-1b2c-4d3e-9f00-0123456789ab", map[string]string{"id": "8f6a2c1e-1b2c-4d3e-9f00-0123456789ab"}},
		{"n/{v:range(1,10)}", "n/10", map[string]string{"v": "10"}},
		{"n/{v:range(1,10)}", "n/11", nil},
		{"s/{v:minlength(2):maxlength(3)}", "s/abcd", nil},
		{"s/{v:minlength(2):maxlength(3)}", "s/abc", map[string]string{"v": "abc"}},
	}
	for _, tc := range tests {
		r, err := ParseRoute(tc.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.tmpl, err)
		}
		got, ok := r.Match(tc.path)
		if tc.want == nil {
			if ok {
				t.Errorf("%s matched %s: %v", tc.tmpl, tc.path, got)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s on %s: got %v %v, want %v", tc.tmpl, tc.path, got, ok, tc.want)
		}
	}
}

func TestRouteErrors(t *testing.T) {
	t.Parallel()
	for _, tmpl := range []string{"", "/", "a//b", "a/{b", "a/x{b}", "{*a}/b", "{a}/{a}", "{a:nope}", "{a:range(1)}", "{a?}/b", "{1a}"} {
		if _, err := ParseRoute(tmpl); err == nil {
			t.Errorf("%q: no error", tmpl)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	f.Add("products/{category:alpha}/{id:int?}", "products/books/7")
	f.Add("files/{*path}", "files/a/b")
	f.Add("n/{v:range(1,10):int}", "n/3")
	f.Fuzz(func(t *testing.T, tmpl, p string) {
		r, err := ParseRoute(tmpl)
		if err != nil {
			return
		}
		_ = r.Shape()
		_, _ = r.Match(p)
	})
}
