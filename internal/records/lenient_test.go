package records

import (
	"context"
	"testing"
)

// FuzzLenientValue feeds any text to every account column: the conversion
// never panics, and what it accepts is a value Convert accepts as is.
func FuzzLenientValue(f *testing.F) {
	for _, s := range []string{"", "12.5", "1e3", "-0", "true", "yes", "Accounting", "2026-05-01", "2026-05-01T10:00:00Z",
		"6d1a2b3c-0000-4000-8000-000000000003", "{6D1A2B3C-0000-4000-8000-000000000003}", `{"id":"6d1a2b3c-0000-4000-8000-000000000003","logicalName":"contact"}`,
		"NaN", "Inf", "99999999999999999999", "1.5", " 7 "} {
		f.Add(s)
	}
	var acct *Table
	for _, t := range Builtin() {
		if t.Name == "account" {
			tt := t
			if err := tt.Prepare(nil); err != nil {
				f.Fatal(err)
			}
			acct = &tt
		}
	}
	s := New(Config{})
	f.Fuzz(func(t *testing.T, in string) {
		for i := range acct.Columns {
			c := &acct.Columns[i]
			v, err := s.LenientValue(context.Background(), nil, acct, c, in)
			if err != nil || v == nil {
				continue
			}
			again, err := Convert(acct, c, v)
			if err != nil {
				t.Fatalf("%s: %q gave %#v, which Convert refuses: %v", c.Name, in, v, err)
			}
			if !sameValue(again, v) {
				t.Fatalf("%s: %q gave %#v, then %#v", c.Name, in, v, again)
			}
		}
	})
}
