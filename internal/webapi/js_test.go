package webapi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/store"
)

// requireJS skips (or, under CI=true, fails) when node or the npm client
// is missing; scripts/deps/webapi.sh installs them.
func requireJS(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	if err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join("testdata", "js", "node_modules", "dynamics-web-api", "package.json")); err != nil {
		missing = "dynamics-web-api is not installed (run scripts/deps/webapi.sh)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s", missing)
		}
		t.Skipf("SKIPPING dynamics-web-api TESTS: %s", missing)
	}
	return node
}

func TestDynamicsWebApiClient(t *testing.T) {
	t.Parallel()
	node := requireJS(t)
	each(t, func(t *testing.T, b *bundle) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "run.mjs")
		cmd.Dir = filepath.Join("testdata", "js")
		cmd.Env = append(os.Environ(), "SERVER_URL="+b.url+"/", "TOKEN="+adminKey)
		out, err := cmd.CombinedOutput()
		t.Logf("%s", out)
		if err != nil {
			t.Fatalf("dynamics-web-api run failed: %v", err)
		}
		if strings.Count(string(out), "ok ") < 21 {
			t.Fatalf("not every step ran")
		}
	})
}

// TestDynamicsWebApiExpiredDeltaLink: a delta link whose changes the change
// log's retention deleted answers ExpiredVersionStamp to the real client,
// which then syncs in full and follows its new delta link.
func TestDynamicsWebApiExpiredDeltaLink(t *testing.T) {
	t.Parallel()
	node := requireJS(t)
	each(t, func(t *testing.T, b *bundle) {
		run := func(env ...string) string {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "delta-expired.mjs")
			cmd.Dir = filepath.Join("testdata", "js")
			cmd.Env = append(append(os.Environ(), "SERVER_URL="+b.url+"/", "TOKEN="+adminKey), env...)
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("dynamics-web-api run failed: %v", err)
			}
			return string(out)
		}
		for _, name := range []string{"Before 1", "Before 2"} {
			if r := b.do("POST", "accounts", map[string]any{"name": name}); r.status != 204 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
		}
		out := run("PHASE=track")
		i := strings.Index(out, "delta ")
		if !strings.Contains(out, "rows 2\n") || i < 0 {
			t.Fatalf("the first full sync: %s", out)
		}
		link := strings.TrimSpace(out[i+len("delta "):])
		for _, name := range []string{"After 1", "After 2"} {
			if r := b.do("POST", "accounts", map[string]any{"name": name}); r.status != 204 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
		}
		// Retention past its hard maximum: every change but the newest goes.
		ctx := context.Background()
		err := changelog.Sequence(ctx, b.app.Store())
		if err == nil {
			err = b.app.Store().Tx(ctx, func(tx store.Tx) error {
				_, err := changelog.Prune(ctx, tx, time.Now().Add(time.Minute), time.Now().Add(time.Minute), 1000)
				return err
			})
		}
		if err != nil {
			t.Fatal(err)
		}
		out = run("PHASE=expired", "DELTA_LINK="+link)
		if strings.Count(out, "ok ") != 2 || !strings.Contains(out, "rows 4\n") {
			t.Fatalf("after the link expired: %s", out)
		}
	})
}
