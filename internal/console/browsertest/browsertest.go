// Package browsertest runs the console's browser scripts (playwright-core
// driving Debian's Chromium, both installed by make deps) from the tests of
// any package: the console's own, and the demo's tour of every page.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// dir is the scripts' folder, internal/console/testdata/e2e.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "e2e")
}

// Available reports whether Chromium and playwright-core are installed. In CI
// (CI=true) their absence fails t; elsewhere it is logged loudly.
func Available(t testing.TB) bool {
	t.Helper()
	_, errChrome := os.Stat("/usr/bin/chromium")
	_, errPW := os.Stat(filepath.Join(dir(), "node_modules", "playwright-core"))
	if errChrome == nil && errPW == nil {
		return true
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("browser tests need Chromium and playwright-core (make deps): %v %v", errChrome, errPW)
	}
	t.Log("SKIPPING BROWSER TESTS: run make deps to install Chromium and playwright-core")
	return false
}

// Run runs one script of the folder with env added to the environment, and
// fails t when it fails. Screenshots go to JUNCTION_SCREENSHOTS when set (the
// docs' images are taken so), else to a temporary folder.
func Run(t testing.TB, script string, env ...string) {
	t.Helper()
	shots := os.Getenv("JUNCTION_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir()
	cmd.Env = append(os.Environ(), append(env, "SHOTS="+shots)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	t.Logf("%s", out)
}
