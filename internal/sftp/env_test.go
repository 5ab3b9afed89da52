package sftp

import (
	"strings"
	"testing"
)

func TestExpandDefaults(t *testing.T) {
	t.Parallel()
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"SET": "from-env", "EMPTY": ""}[k]
		return v, ok
	}
	for _, c := range []struct{ in, want, err string }{
		{"${SET}", "from-env", ""},
		{"${SET:-fallback}", "from-env", ""},
		{"${UNSET:-fallback}", "fallback", ""},
		{"${EMPTY:-fallback}", "fallback", ""},
		{"${UNSET:-127.0.0.1:2222}", "127.0.0.1:2222", ""},
		{"${UNSET:-}", "", ""},
		{"${UNSET}", "", "environment variable UNSET is not set"},
		{"plain", "plain", ""},
	} {
		got, err := expand(c.in, env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("expand(%q): %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestListenFromEnvironment(t *testing.T) {
	t.Parallel()
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"ADDR": "127.0.0.1:0", "BAD": "nowhere"}[k]
		return v, ok
	}
	s := New(Options{DataDir: t.TempDir(), Env: env})
	if err := s.Configure(Config{Listen: "${ADDR:-127.0.0.1:2222}", Users: []User{{Name: "p", Password: "${PW:-demo}"}}}); err != nil {
		t.Fatal(err)
	}
	if s.cfg.Listen != "127.0.0.1:0" || s.users["p"].password != "demo" {
		t.Fatalf("listen %q, password %q", s.cfg.Listen, s.users["p"].password)
	}
	err := s.Configure(Config{Listen: "${BAD}", Users: []User{{Name: "p", Password: "${PW:-demo}"}}})
	if err == nil || !strings.Contains(err.Error(), `"nowhere" is not host:port`) {
		t.Fatalf("a listen variable without a port: %v", err)
	}
	// A literal password is still refused, with or without braces around text.
	if ps := (&Config{Users: []User{{Name: "p", Password: "hunter2"}}}).check(nil); len(ps) != 1 {
		t.Fatalf("literal password: %v", ps)
	}
}

// FuzzExpand: expansion never panics, and whatever it returns holds no
// reference it could have resolved.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"${A}", "${A:-x}", "${B:-127.0.0.1:2222}", "a${A}b${B:-}c", "${", "${:-}", "$${A}", "${A:-${B}}"} {
		f.Add(s)
	}
	env := func(k string) (string, bool) {
		if k == "A" {
			return "va", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expand(s, env)
		if err != nil {
			if !strings.Contains(err.Error(), "is not set") {
				t.Fatalf("expand(%q): unexpected error %v", s, err)
			}
			return
		}
		if !strings.Contains(s, "${") && out != s {
			t.Fatalf("expand(%q) = %q: text without references changed", s, out)
		}
	})
}
