package webapi_test

import (
	"strings"
	"testing"

	"junction/internal/webapi"
)

// FuzzParseLimits: --webapi-limits never panics, and what it accepts is
// "off" or limits none of which is negative.
func FuzzParseLimits(f *testing.F) {
	for _, s := range []string{"", "off", "requests=6000,window=300s,execution=1200s,concurrent=52", "requests=-1", "window=1h, concurrent=0", "bogus=1", "requests"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := webapi.ParseLimits(s)
		if err != nil {
			return
		}
		if c.Disabled && strings.TrimSpace(s) != "off" {
			t.Fatalf("%q turned the limits off", s)
		}
		if c.MaxRequests < 0 || c.MaxConcurrent < 0 || c.Window < 0 || c.MaxExecution < 0 {
			t.Fatalf("%q accepted as %+v", s, c)
		}
	})
}
