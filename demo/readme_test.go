package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"junction/internal/store/storetest"
)

// TestReadmeCommandsRunAsWritten runs every shell block of demo/README.md, in
// order, as a newcomer pastes them into two terminals: the first block starts
// the real junction binary, the others run in one shell session against it.
// Only what cannot be the same on a test machine is changed: the addresses
// (free ports instead of 8080 and 2222, and JUNCTION_URL naming the first for
// the CLI, whose default is 8080), the data folder (a temporary one),
// and `go run ./cmd/junction` (the binary built once). curl fails on HTTP
// errors here, so a documented request that answers 4xx or 5xx fails the test.
// A block that fails, or leaves a variable it sets empty, is tried again for a
// while: some steps wait for work the previous one started.
func TestReadmeCommandsRunAsWritten(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the junction binary")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := shellBlocks(string(readme))
	if len(blocks) < 10 || !strings.Contains(blocks[0], "serve --demo") {
		t.Fatalf("demo/README.md no longer starts with serve --demo: %q", blocks[:1])
	}

	ws := t.TempDir()
	bin := filepath.Join(ws, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "junction"), "../cmd/junction")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// curl as the README calls it, but failing on HTTP errors.
	realCurl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	os.WriteFile(filepath.Join(bin, "curl"), []byte("#!/bin/sh\nexec "+realCurl+" --fail-with-body \"$@\"\n"), 0o755)
	demoDir, _ := filepath.Abs(".")
	if err := os.Symlink(demoDir, filepath.Join(ws, "demo")); err != nil {
		t.Fatal(err)
	}

	httpAddr, sftpAddr := freeAddr(t), freeAddr(t)
	rewrite := strings.NewReplacer("go run ./cmd/junction", "junction", "127.0.0.1:8080", httpAddr, "127.0.0.1:2222", sftpAddr)
	env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
		"JUNCTION_LISTEN="+httpAddr, "JUNCTION_DATA="+filepath.Join(ws, "junction-data"), "JUNCTION_DEMO_SFTP_LISTEN="+sftpAddr,
		"JUNCTION_URL=http://"+httpAddr) // where the CLI looks by default, 127.0.0.1:8080, is elsewhere here
	env = append(env, warehouseEnv(t)...)

	// Terminal one: the server, as the first block starts it.
	var serverOut bytes.Buffer
	server := exec.Command("bash", "-c", rewrite.Replace(blocks[0]))
	server.Dir, server.Env, server.Stdout, server.Stderr = ws, env, &serverOut, &serverOut
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		server.Wait()
	})
	wait := exec.Command(filepath.Join(bin, "junction"), "wait", "--url", "http://"+httpAddr, "--timeout", "2m")
	if out, err := wait.CombinedOutput(); err != nil {
		t.Fatalf("the server did not become ready: %v\n%s\n%s", err, out, serverOut.String())
	}

	// Terminal two: every other block in order, its variables kept.
	state := filepath.Join(ws, "state.sh")
	os.WriteFile(state, nil, 0o644)
	for i, block := range blocks[1:] {
		cmds := rewrite.Replace(block)
		var checks strings.Builder
		for _, m := range assigned.FindAllStringSubmatch(cmds, -1) {
			fmt.Fprintf(&checks, "[ -n \"${%s}\" ] || { echo '%s is empty' >&2; exit 1; }\n", m[1], m[1])
		}
		script := "set -eo pipefail\nsource " + state + "\n" + cmds + "\n" + checks.String() + "export -p > " + state + ".new\n"
		deadline := time.Now().Add(30 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			cmd := exec.CommandContext(ctx, "bash", "-c", script)
			cmd.Dir, cmd.Env = ws, env
			out, err := cmd.CombinedOutput()
			cancel()
			if err == nil {
				os.Rename(state+".new", state)
				t.Logf("block %d:\n%s\n%s", i+1, cmds, out)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("block %d of demo/README.md fails as written:\n%s\n%v\n%s\nserver:\n%s", i+1, cmds, err, out, serverOut.String())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// assigned finds the variables a block sets from a command's output.
var assigned = regexp.MustCompile(`(?m)^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=\$\(`)

// shellBlocks returns the bodies of the ```sh fenced blocks of a Markdown text.
func shellBlocks(md string) []string {
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(md, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// warehouseEnv gives the server a warehouse database (a schema of the test
// PostgreSQL) as the README's warehouse step asks.
func warehouseEnv(t *testing.T) []string {
	t.Helper()
	url := storetest.RequirePostgres(t)
	schema := storetest.NewSchema(t)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return []string{"WAREHOUSE_DSN=" + url + sep + "search_path=" + schema}
}
