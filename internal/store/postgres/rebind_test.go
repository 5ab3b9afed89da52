package postgres

import "testing"

func TestRebind(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"SELECT 1":        "SELECT 1",
		"a = ? AND b = ?": "a = $1 AND b = $2",
		"x = '?' AND y = ? AND z = \"wh?t\" OR ?": "x = '?' AND y = $1 AND z = \"wh?t\" OR $2",
		"s = 'it''s ?' AND t = ?":                 "s = 'it''s ?' AND t = $1",
	} {
		if got := Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRebind(f *testing.F) {
	f.Add("a = ? AND b = '?'")
	f.Fuzz(func(t *testing.T, q string) {
		out := Rebind(q)
		if len(out) < len(q) {
			t.Fatalf("Rebind shortened %q to %q", q, out)
		}
	})
}
