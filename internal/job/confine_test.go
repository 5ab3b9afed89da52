package job

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zoneFixture is a drop zone with a link inside it, links out of it and a
// sibling folder whose name starts like the zone's.
func zoneFixture(t testing.TB) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "zone"), filepath.Join(base, "zone-other")
	os.MkdirAll(filepath.Join(root, "in", "deep"), 0o755)
	os.MkdirAll(outside, 0o755)
	os.Symlink(outside, filepath.Join(root, "escape"))
	os.Symlink("../..", filepath.Join(root, "in", "up"))
	os.Symlink("deep", filepath.Join(root, "in", "alias"))
	os.Symlink("/etc/passwd", filepath.Join(root, "in", "passwd.csv"))
	return root, outside
}

func TestConfine(t *testing.T) {
	t.Parallel()
	root, _ := zoneFixture(t)
	cases := []struct {
		rel  string
		want string // relative to root; "" means refused
	}{
		{"", "."},
		{".", "."},
		{"in", "in"},
		{"in/deep/new/folder", "in/deep/new/folder"},
		{"not-yet/there", "not-yet/there"},
		{"in/alias", "in/alias"},
		{"in/alias/x.csv", "in/alias/x.csv"},
		{"in/./deep", "in/deep"},
		{"..", ""},
		{"../zone-other", ""},
		{"in/../../zone-other", ""},
		{"/etc", ""},
		{"escape", ""},
		{"escape/new", ""},
		{"in/up", ""},
		{"in/up/zone-other", ""},
		{"in/passwd.csv", ""},
	}
	for _, c := range cases {
		t.Run(c.rel, func(t *testing.T) {
			t.Parallel()
			got, err := Confine(root, c.rel)
			if c.want == "" {
				if err == nil {
					t.Fatalf("Confine(%q) = %q, want a refusal", c.rel, got)
				}
				if !errors.Is(err, ErrOutside) {
					t.Fatalf("Confine(%q): %v does not say the path leaves its folder", c.rel, err)
				}
				return
			}
			if err != nil || got != filepath.Join(root, filepath.FromSlash(c.want)) {
				t.Fatalf("Confine(%q) = %q, %v; want %s", c.rel, got, err, c.want)
			}
		})
	}
}

// FuzzConfine: whatever the path, an accepted result is inside the root,
// both as written and once links are resolved.
func FuzzConfine(f *testing.F) {
	for _, s := range []string{"", "a", "in/deep", "..", "../zone-other", "/etc", "escape/x", "in/up/x", "in//deep/../alias", "a\x00b", "in/alias/../../escape"} {
		f.Add(s)
	}
	root, _ := zoneFixture(f)
	realRoot, _ := filepath.EvalSymlinks(root)
	f.Fuzz(func(t *testing.T, rel string) {
		got, err := Confine(root, rel)
		if err != nil {
			return
		}
		if !within(root, got) {
			t.Fatalf("Confine(%q) = %q: outside %s", rel, got, root)
		}
		// The deepest existing part resolves inside the root too.
		p := got
		for {
			if _, err := os.Lstat(p); err == nil {
				break
			}
			p = filepath.Dir(p)
		}
		if real, err := filepath.EvalSymlinks(p); err == nil && !within(realRoot, real) {
			t.Fatalf("Confine(%q) = %q: resolves to %s, outside %s", rel, got, real, realRoot)
		}
	})
}

func TestReadingQuery(t *testing.T) {
	t.Parallel()
	cases := []struct{ q, err string }{
		{"SELECT * FROM t", ""},
		{"  select a from t;", ""},
		{"-- note\n/* c */ (SELECT 1) UNION (SELECT 2)", ""},
		{"WITH x AS (SELECT 1) SELECT * FROM x", ""},
		{"UPDATE junction_api_keys SET role = 'admin'", "UPDATE statements are refused"},
		{"  delete from t", "DELETE statements are refused"},
		{"/* x */ INSERT INTO t VALUES (1)", "INSERT statements are refused"},
		{"ATTACH DATABASE '/data/junction.db' AS j", "ATTACH statements are refused"},
		{"PRAGMA writable_schema = 1", "PRAGMA statements are refused"},
		{"SELECT 1; DROP TABLE t", "one statement only"},
		{"SELECT * FROM t INTO  outfile '/tmp/x'", "INTO OUTFILE is refused"},
		{"SELECT a INTO DUMPFILE '/tmp/x' FROM t", "INTO DUMPFILE is refused"},
		{"", "not a SELECT"},
		{"-- only a comment", "not a SELECT"},
	}
	for _, c := range cases {
		err := readingQuery(c.q)
		if c.err == "" && err != nil {
			t.Errorf("readingQuery(%q): %v", c.q, err)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("readingQuery(%q) = %v, want %q", c.q, err, c.err)
		}
	}
}

func TestOwnStoreRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "junction.db")
	os.WriteFile(db, []byte("x"), 0o600)
	link := filepath.Join(t.TempDir(), "l.db")
	os.Symlink(db, link)
	hard := filepath.Join(dir, "hard.db")
	os.Link(db, hard)
	sq := OwnStore{SQLitePath: db}
	pg := OwnStore{Postgres: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"}
	cases := []struct {
		own         OwnStore
		driver, dsn string
		refused     bool
	}{
		{sq, "sqlite", db, true},
		{sq, "sqlite", "file:" + db + "?mode=ro", true},
		{sq, "sqlite", link, true},
		{sq, "sqlite", hard, true},
		{sq, "sqlite", filepath.Join(dir, "sub", "..", "junction.db"), true},
		{sq, "sqlite", "file://" + strings.ReplaceAll(db, ".db", "%2Edb"), true},
		{sq, "sqlite", "file://localhost" + db + "?mode=ro", true},
		{sq, "sqlite", filepath.Join(dir, "other.db"), false},
		{sq, "sqlite", ":memory:", false},
		{sq, "postgres", "postgres://x@127.0.0.1/test", false},
		{pg, "postgres", "postgres://x:y@localhost:5432/test", true},
		{pg, "postgres", "host=127.0.0.1 port=5432 dbname=test user=x", true},
		{pg, "postgres", "postgres://x@[::1]:5432/test", true},
		{pg, "postgres", "postgres://x@127.0.0.1:5432/test?search_path=other", true},
		{pg, "postgres", "postgres://x@192.0.2.10:5432,127.0.0.1:5432/test", true},
		{OwnStore{Postgres: "postgres://postgres@127.0.0.1:5432/postgres"}, "postgres", "postgres://postgres@127.0.0.1:5432", true},
		{pg, "postgres", "postgres://x@127.0.0.1:5432/warehouse", false},
		{pg, "postgres", "postgres://x@127.0.0.1:5433/test", false},
		{pg, "postgres", "postgres://x@192.0.2.10:5432/test", false},
		{pg, "mysql", "root@tcp(127.0.0.1:3306)/test", false},
	}
	for _, c := range cases {
		err := c.own.refuse(c.driver, c.dsn)
		if (err != nil) != c.refused {
			t.Errorf("refuse(%s, %s) = %v, want refused %v", c.driver, c.dsn, err, c.refused)
		}
	}
}

// FuzzReadingQuery: an accepted query holds one statement that begins, after
// comments and parentheses, with a reading verb.
func FuzzReadingQuery(f *testing.F) {
	for _, s := range []string{"SELECT 1", "/* x */ UPDATE t", "--\nDELETE", "((SELECT 1))", "WITH a AS (SELECT 1) SELECT *", "SELECT 1;;", "select ';'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if readingQuery(q) != nil {
			return
		}
		body := strings.TrimRight(strings.TrimSpace(q), "; \t\r\n")
		if strings.Contains(body, ";") {
			t.Fatalf("readingQuery(%q) accepted two statements", q)
		}
		for _, w := range []string{"UPDATE", "DELETE", "INSERT", "DROP", "ATTACH", "PRAGMA", "CREATE", "ALTER"} {
			if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), w) {
				t.Fatalf("readingQuery(%q) accepted a %s", q, w)
			}
		}
	})
}
