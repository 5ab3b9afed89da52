package job

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
)

// adminOnly lists what a job defined through the API by a key other than the
// admin's may not write: DSNs, hosts, credentials, org URLs and tokens come
// from the admin's connections, and folders are relative paths inside a
// drop zone. Project files and the admin key may write them inline.
func (s *Spec) adminOnly() []Problem {
	var ps []Problem
	add := func(field, what string) {
		ps = append(ps, Problem{field, what + " is the admin's to define: name a connection of " + ConnectionsFile + " instead"})
	}
	src, sk := &s.Source, &s.Sink
	for _, f := range []struct{ field, v string }{
		{"source.driver", src.Driver}, {"source.dsn", src.DSN}, {"source.address", src.Address}, {"source.user", src.User},
		{"source.password", src.Password}, {"source.privateKey", src.PrivateKey}, {"source.hostKey", src.HostKey},
		{"sink.driver", sk.Driver}, {"sink.dsn", sk.DSN},
	} {
		if f.v != "" {
			add(f.field, "a "+f.field[strings.IndexByte(f.field, '.')+1:])
		}
	}
	if src.Org != nil && *src.Org != (Org{}) {
		add("source.org", "an org (URL, token, credentials)")
	}
	if sk.Org != nil && *sk.Org != (Org{}) {
		add("sink.org", "an org (URL, token, credentials)")
	}
	if t := sk.SFTP; t != nil && (t.Address != "" || t.User != "" || t.Password != "" || t.PrivateKey != "" || t.HostKey != "") {
		add("sink.sftp", "an SFTP login")
	}
	if src.Type == "file" && !relativePath(src.Path) {
		ps = append(ps, Problem{"source.path", fmt.Sprintf("%q is not a relative path inside a drop zone (no leading /, no ..)", src.Path)})
	}
	if sk.Type == "file" && !relativePath(sk.Path) {
		ps = append(ps, Problem{"sink.path", fmt.Sprintf("%q is not a relative path inside a drop zone (no leading /, no ..)", sk.Path)})
	}
	return ps
}

func relativePath(p string) bool {
	return p == "" || p == "." || filepath.IsLocal(filepath.FromSlash(p))
}

// readingQuery refuses a source query that is not one reading statement,
// naming the statement. Sources also run in a read-only transaction, which
// catches what this cannot see (a writing common table expression).
func readingQuery(q string) error {
	t := strings.TrimSpace(q)
	for {
		switch {
		case strings.HasPrefix(t, "--"):
			if i := strings.IndexByte(t, '\n'); i >= 0 {
				t = t[i+1:]
			} else {
				t = ""
			}
		case strings.HasPrefix(t, "/*"):
			if i := strings.Index(t, "*/"); i >= 0 {
				t = t[i+2:]
			} else {
				t = ""
			}
		case strings.HasPrefix(t, "("):
			t = t[1:]
		default:
			goto verb
		}
		t = strings.TrimSpace(t)
	}
verb:
	end := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(t)
	}
	switch v := strings.ToUpper(t[:end]); v {
	case "SELECT", "WITH", "VALUES", "TABLE":
	case "":
		return errors.New("the query is not a SELECT statement")
	default:
		return fmt.Errorf("%s statements are refused: a SQL source only reads (SELECT or WITH) in a read-only transaction", v)
	}
	body := strings.TrimRight(strings.TrimSpace(t), "; \t\r\n")
	if strings.Contains(body, ";") {
		return errors.New("one statement only: a SQL source runs a single SELECT")
	}
	// MySQL writes a file on the database's host from a SELECT.
	if f := strings.Fields(strings.ToUpper(body)); len(f) > 1 {
		for i := range f[:len(f)-1] {
			if f[i] == "INTO" && (f[i+1] == "OUTFILE" || f[i+1] == "DUMPFILE") {
				return fmt.Errorf("SELECT ... INTO %s is refused: a SQL source only reads", f[i+1])
			}
		}
	}
	return nil
}

// refProblems checks what a spec names against the admin's definitions: its
// connections exist and have the right type, its drop zones exist, and no
// DSN (inline or of its connections) reaches the store's own database.
func (s *Service) refProblems(spec *Spec) []Problem {
	var ps []Problem
	add := func(field string, err error) { ps = append(ps, Problem{field, err.Error()}) }
	conn := func(field, name, typ string) {
		if name == "" {
			return
		}
		c, err := s.connection(name, typ)
		if err != nil {
			add(field, err)
			return
		}
		if typ == "sql" {
			if dsn, err := s.expand(c.DSN); err == nil {
				if err := s.cfg.OwnStore.refuse(c.Driver, dsn); err != nil {
					add(field, fmt.Errorf("connection %q: %w", name, err))
				}
			}
		}
	}
	src, sk := &spec.Source, &spec.Sink
	switch src.Type {
	case "sql", "sftp", "dataverse":
		conn("source.connection", src.Connection, src.Type)
	}
	switch sk.Type {
	case "sql", "dataverse":
		conn("sink.connection", sk.Connection, sk.Type)
	}
	if sk.SFTP != nil {
		conn("sink.sftp.connection", sk.SFTP.Connection, "sftp")
	}
	for _, z := range []struct{ field, name string }{{"source.dropZone", src.DropZone}, {"sink.dropZone", sk.DropZone}} {
		if _, err := s.zone(z.name); err != nil {
			add(z.field, err)
		}
	}
	for _, d := range []struct{ field, typ, driver, dsn string }{{"source.dsn", src.Type, src.Driver, src.DSN}, {"sink.dsn", sk.Type, sk.Driver, sk.DSN}} {
		if d.typ != "sql" || d.dsn == "" {
			continue
		}
		if dsn, err := s.expand(d.dsn); err == nil {
			if err := s.cfg.OwnStore.refuse(d.driver, dsn); err != nil {
				add(d.field, err)
			}
		}
	}
	return ps
}
