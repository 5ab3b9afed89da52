package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/cli"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), args, cli.IO{Stdout: &out, Stderr: &errOut, Env: func(k string) string { return env[k] }})
	return code, out.String(), errOut.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{}, nil, "Usage"},
		{[]string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, nil, "flag provided but not defined: -no-such-flag"},
		{[]string{"serve", "extra"}, nil, `unexpected argument "extra"`},
		{[]string{"serve", "--log-level", "loud"}, nil, "--log-level"},
		{[]string{"serve"}, map[string]string{"JUNCTION_DEMO": "maybe"}, "JUNCTION_DEMO: invalid value"},
		{[]string{"serve", "--data", "/proc/junction"}, nil, "--data: cannot create"},
		{[]string{"serve", "--store", "redis://x"}, nil, "--store"},
		{[]string{"validate"}, nil, "usage: junction validate DIR"},
		{[]string{"keys", "list"}, nil, "an API key is required"},
	} {
		code, _, stderr := run(t, c.env, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Fatalf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func TestEnvironmentFillsFlagsAndFlagsWin(t *testing.T) {
	t.Parallel()
	// JUNCTION_STORE from the environment is used...
	_, _, stderr := run(t, map[string]string{"JUNCTION_STORE": "bogus://env", "JUNCTION_DATA": t.TempDir()}, "serve")
	if !strings.Contains(stderr, "bogus://env") {
		t.Fatalf("env not applied: %s", stderr)
	}
	// ...unless the flag is given.
	_, _, stderr = run(t, map[string]string{"JUNCTION_STORE": "bogus://env", "JUNCTION_DATA": t.TempDir()}, "serve", "--store", "bogus://flag")
	if !strings.Contains(stderr, "bogus://flag") {
		t.Fatalf("flag did not win: %s", stderr)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := t.TempDir()
	os.WriteFile(filepath.Join(good, "junction.yaml"), []byte("name: good\n"), 0o644)
	if code, out, stderr := run(t, nil, "validate", good); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("good project: %d %s %s", code, out, stderr)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "junction.yaml"), []byte("name: bad\ncolour: blue\n"), 0o644)
	os.MkdirAll(filepath.Join(bad, "servicebus"), 0o755)
	os.WriteFile(filepath.Join(bad, "servicebus", "config.json"), []byte("{\"x\": }"), 0o644)
	code, _, stderr := run(t, nil, "validate", bad)
	if code != 2 || !strings.Contains(stderr, bad+"/junction.yaml:2: field colour not found") ||
		!strings.Contains(stderr, bad+"/servicebus/config.json:1:7") || !strings.Contains(stderr, "2 problem(s)") {
		t.Fatalf("bad project: %d %s", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	if code, out, _ := run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "junction ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
