package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestResolverAllowList(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "secrets.env")
	os.WriteFile(file, []byte("# the admin's\nSB_CONN=Endpoint=sb://x/;Key=1\nexport QUOTED=\"a b\"\n\nJUNCTION_SECRET_BOTH=from-file\n"), 0o600)
	env := envOf(map[string]string{
		"JUNCTION_ADMIN_KEY": "admin", "JUNCTION_STORE": "postgres://x", "HOME": "/root", "PATH": "/bin",
		"JUNCTION_SECRET_DB": "dsn", "LISTED": "yes", "JUNCTION_SECRET_BOTH": "from-env", "JUNCTION_SECRET_EMPTY": "",
	})
	r, err := New(Options{Env: env, File: file, Allow: []string{"LISTED"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, want, err string
	}{
		{"JUNCTION_SECRET_DB", "dsn", ""},
		{"LISTED", "yes", ""},
		{"SB_CONN", "Endpoint=sb://x/;Key=1", ""},
		{"QUOTED", "a b", ""},
		{"JUNCTION_SECRET_BOTH", "from-file", ""},
		{"JUNCTION_SECRET_EMPTY", "", ""},
		{"JUNCTION_ADMIN_KEY", "", "JUNCTION_ADMIN_KEY is not allowed: only environment variables named JUNCTION_SECRET_*"},
		{"JUNCTION_STORE", "", "JUNCTION_STORE is not allowed"},
		{"HOME", "", "HOME is not allowed"},
		{"JUNCTION_SECRET_UNSET", "", "JUNCTION_SECRET_UNSET is not set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v, err := r.Get(c.name)
			if c.err == "" && (err != nil || v != c.want) {
				t.Fatalf("Get = %q, %v; want %q", v, err, c.want)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || v != "") {
				t.Fatalf("Get = %q, %v; want an error containing %q", v, err, c.err)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	r, _ := New(Options{Env: envOf(map[string]string{"JUNCTION_ADMIN_KEY": "admin", "JUNCTION_SECRET_PW": "pw", "JUNCTION_SECRET_EMPTY": ""})})
	cases := []struct{ in, want, err string }{
		{"postgres://u:${JUNCTION_SECRET_PW}@h/db", "postgres://u:pw@h/db", ""},
		{"${JUNCTION_ADMIN_KEY}", "", "JUNCTION_ADMIN_KEY is not allowed"},
		{"${JUNCTION_ADMIN_KEY:-fallback}", "fallback", ""},
		{"${JUNCTION_SECRET_EMPTY:-d}", "d", ""},
		{"${JUNCTION_SECRET_EMPTY}", "", ""},
		{"${B_MISSING}${A_MISSING}", "", "A_MISSING is not allowed: only environment variables named JUNCTION_SECRET_*, names given to --secrets-allow and keys of the secrets file resolve; B_MISSING is not allowed"},
		{"no refs $HOME", "no refs $HOME", ""},
	}
	for _, c := range cases {
		got, err := r.Expand(c.in)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("Expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Expand(%q) = %q, %v; want an error containing %q", c.in, got, err, c.err)
		}
	}
	var none *Resolver
	if _, err := none.Expand("${JUNCTION_SECRET_PW}"); err == nil {
		t.Error("a nil resolver resolved a variable")
	}
}

func TestAllowRefusesServerSettings(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"JUNCTION_ADMIN_KEY", "junction_store", "JUNCTION_SECRETS_FILE", "a=b", ""} {
		if _, err := New(Options{Allow: []string{n}}); err == nil {
			t.Errorf("--secrets-allow %q accepted", n)
		}
	}
	if _, err := New(Options{Allow: []string{"SB_CONN", "JUNCTION_SECRET_X"}}); err != nil {
		t.Error(err)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{`{"A":"1","B_C":"x=y"}`, map[string]string{"A": "1", "B_C": "x=y"}, false},
		{"A=1\nB = 'two words'\n# c\n", map[string]string{"A": "1", "B": "two words"}, false},
		{`{"A":1}`, nil, true},
		{"A=1\nA=2\n", nil, true},
		{"just words\n", nil, true},
		{`{"bad name":"x"}`, nil, true},
	}
	for _, c := range cases {
		got, err := Parse([]byte(c.in))
		if (err != nil) != c.err {
			t.Errorf("Parse(%q) error %v, want error %v", c.in, err, c.err)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("Parse(%q)[%s] = %q, want %q", c.in, k, got[k], v)
			}
		}
	}
}

func TestEnvironDropsServerSettings(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(file, []byte(`{"SB_CONN":"x"}`), 0o600)
	r, err := New(Options{File: file})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(r.Environ([]string{"PATH=/bin", "JUNCTION_ADMIN_KEY=k", "JUNCTION_SECRET_A=a", "SB_CONN=old"}), " ")
	if got != "PATH=/bin JUNCTION_SECRET_A=a SB_CONN=x" {
		t.Fatalf("Environ = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("A=1\nB='x'\n"))
	f.Add([]byte(`{"A":"b"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		for k := range m {
			if !namePattern.MatchString(k) {
				t.Fatalf("name %q accepted", k)
			}
		}
	})
}

// FuzzExpand: expansion never panics, never yields a refused variable's
// value, and leaves text without references alone.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"${JUNCTION_SECRET_A}", "${A:-x}", "${B:-127.0.0.1:2222}", "a${JUNCTION_ADMIN_KEY}b${B:-}c", "${", "${:-}", "$${A}", "${A:-${B}}"} {
		f.Add(s)
	}
	r, _ := New(Options{Env: envOf(map[string]string{"JUNCTION_SECRET_A": "va", "JUNCTION_ADMIN_KEY": "ADMINKEY"})})
	f.Fuzz(func(t *testing.T, s string) {
		out, err := r.Expand(s)
		if err != nil {
			if !strings.Contains(err.Error(), "is not") {
				t.Fatalf("Expand(%q): unexpected error %v", s, err)
			}
			return
		}
		if !strings.Contains(s, "ADMINKEY") && strings.Contains(out, "ADMINKEY") {
			t.Fatalf("Expand(%q) = %q: the admin key came out", s, out)
		}
		if !strings.Contains(s, "${") && out != s {
			t.Fatalf("Expand(%q) = %q: text without references changed", s, out)
		}
	})
}
