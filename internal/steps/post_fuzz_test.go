package steps

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzAuthSettings feeds arbitrary authentication values to the parser of
// the <settings> XML the Plugin Registration Tool writes: it never panics,
// and what it accepts has named settings usable as headers and query
// parameters.
func FuzzAuthSettings(f *testing.F) {
	f.Add(`<settings><setting name="x-api-key" value="k1" /></settings>`)
	f.Add(`<settings><setting name="a" value="1"/><setting name="b" value="&amp;2"/></settings>`)
	f.Add(`<settings/>`)
	f.Add(`not xml`)
	f.Fuzz(func(t *testing.T, s string) {
		set, err := authSettings(s)
		if err != nil {
			return
		}
		h, q := http.Header{}, url.Values{}
		for _, kv := range set.Settings {
			if kv.Name == "" {
				t.Fatal("a setting without a name was accepted")
			}
			h.Set(kv.Name, kv.Value)
			q.Set(kv.Name, kv.Value)
		}
		_ = q.Encode()
	})
}
