package webapi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
