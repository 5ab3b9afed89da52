package sftp

import (
	"strings"
	"testing"

	"junction/internal/secrets"
)

func TestListenFromEnvironment(t *testing.T) {
	t.Parallel()
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"JUNCTION_SECRET_ADDR": "127.0.0.1:0", "JUNCTION_SECRET_BAD": "nowhere", "JUNCTION_ADMIN_KEY": "k"}[k]
		return v, ok
	}
	r, _ := secrets.New(secrets.Options{Env: env})
	s := New(Options{DataDir: t.TempDir(), Secrets: r})
	if err := s.Configure(Config{Listen: "${JUNCTION_SECRET_ADDR:-127.0.0.1:2222}", Users: []User{{Name: "p", Password: "${JUNCTION_SECRET_PW:-demo}"}}}); err != nil {
		t.Fatal(err)
	}
	if s.cfg.Listen != "127.0.0.1:0" || s.users["p"].password != "demo" {
		t.Fatalf("listen %q, password %q", s.cfg.Listen, s.users["p"].password)
	}
	// The server's own key is never a password, even when it is set.
	err := s.Configure(Config{Listen: "127.0.0.1:0", Users: []User{{Name: "p", Password: "${JUNCTION_ADMIN_KEY}"}}})
	if err == nil || !strings.Contains(err.Error(), "JUNCTION_ADMIN_KEY is not allowed") {
		t.Fatalf("the admin key as a password: %v", err)
	}
	err = s.Configure(Config{Listen: "${JUNCTION_SECRET_BAD}", Users: []User{{Name: "p", Password: "${JUNCTION_SECRET_PW:-demo}"}}})
	if err == nil || !strings.Contains(err.Error(), `"nowhere" is not host:port`) {
		t.Fatalf("a listen variable without a port: %v", err)
	}
	// A literal password is still refused, with or without braces around text.
	if ps := (&Config{Users: []User{{Name: "p", Password: "hunter2"}}}).check(nil); len(ps) != 1 {
		t.Fatalf("literal password: %v", ps)
	}
}
