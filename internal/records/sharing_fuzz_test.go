package records

import "testing"

// FuzzParseAccessMask: any text either is refused or gives a mask that
// FormatAccessMask writes back to the same mask.
func FuzzParseAccessMask(f *testing.F) {
	for _, s := range []string{"ReadAccess", "ReadAccess, WriteAccess", "None", "3", "1,2", "readaccess", "ShareAccess,AssignAccess", "", "9999999", "-1", "Read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseAccessMask(s)
		if err != nil {
			return
		}
		back, err := ParseAccessMask(FormatAccessMask(m))
		if err != nil || back != m {
			t.Fatalf("%q: mask %d, written %q, read back %d (%v)", s, m, FormatAccessMask(m), back, err)
		}
	})
}

func TestParseAccessMask(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{{"ReadAccess", 1, false}, {"ReadAccess, WriteAccess", 3, false}, {"None", 0, false}, {"262144", 262144, false},
		{"DeleteAccess,AssignAccess", 65536 | 524288, false}, {"EverythingAccess", 0, true}, {"8", 0, true}, {"-1", 0, true}} {
		got, err := ParseAccessMask(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("%q: %d, %v", c.in, got, err)
		}
	}
	if s := FormatAccessMask(1 | 2 | 65536); s != "ReadAccess, WriteAccess, DeleteAccess" {
		t.Errorf("format: %s", s)
	}
}
