package sftp

import (
	"context"
	"testing"

	"junction/internal/lifecycle/lifecycletest"
	"junction/internal/secrets"
)

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	lifecycletest.Run(t, func(t *testing.T) lifecycletest.Service {
		pw, _ := secrets.New(secrets.Options{Env: func(k string) (string, bool) { return "s3cret", k == "JUNCTION_SECRET_PW" }})
		s := New(Options{DataDir: t.TempDir(), Secrets: pw})
		if err := s.Configure(Config{Listen: "127.0.0.1:0", Users: []User{{Name: "partner", Password: "${JUNCTION_SECRET_PW}"}}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop(context.Background()) })
		return s
	})
}
