package suggest

import "testing"

func TestClosest(t *testing.T) {
	t.Parallel()
	commands := []string{"demo", "serve", "validate", "test", "keys", "queue", "job", "import", "export", "events", "version"}
	for _, c := range []struct{ word, want string }{
		{"serv", "serve"}, {"SERVE", "serve"}, {"valdate", "validate"}, {"qeueu", ""}, {"dmeo", "demo"}, {"queu", "queue"},
		{"xyz", ""}, {"", ""}, {"exprot", "export"}, {"jb", "job"},
	} {
		if got := Closest(c.word, commands); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if got := Closest("acounts", []string{"accounts", "contacts"}); got != "accounts" {
		t.Errorf("acounts: %q", got)
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"kitten", "sitting", 10, 3}, {"ab", "ba", 10, 1}, {"wiat", "wait", 10, 1}, {"", "abc", 10, 3}, {"abc", "abc", 10, 0}, {"kitten", "sitting", 2, 2}, {"a", "abcdef", 3, 3},
	} {
		if got := Distance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
}
