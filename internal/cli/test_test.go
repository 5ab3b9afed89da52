package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestJunctionTestRunsTheDemoWorkflowTests(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"test", "../../demo/project"}, IO{Stdout: &out, Stderr: &errb, Env: func(string) string { return "" }})
	if code != exitOK || !strings.Contains(out.String(), "5 passed, 0 failed") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := Main(context.Background(), []string{"test", t.TempDir()}, IO{Stdout: &out, Stderr: &errb, Env: func(string) string { return "" }}); code != exitUsage || !strings.Contains(errb.String(), "no test files") {
		t.Fatalf("empty folder: exit %d %s", code, errb.String())
	}
}
