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
// errors here, so a documented request that answers 4xx or 5xx fails the test
// (each block runs under set -e, as a careful newcomer's shell would stop).
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
	bin := junctionOnPath(t, ws)
	linkDemo(t, ws)

	httpAddr, sftpAddr := freeAddr(t), freeAddr(t)
	rewrite := strings.NewReplacer("go run ./cmd/junction", "junction", "127.0.0.1:8080", httpAddr, "127.0.0.1:2222", sftpAddr)
	env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"),
		"JUNCTION_LISTEN="+httpAddr, "JUNCTION_AMQP_LISTEN=127.0.0.1:0", "JUNCTION_DATA="+filepath.Join(ws, "junction-data"), "JUNCTION_DEMO_SFTP_LISTEN="+sftpAddr,
		"JUNCTION_URL=http://"+httpAddr,    // where the CLI looks by default, 127.0.0.1:8080, is elsewhere here
		"JUNCTION_AMQP_LISTEN=127.0.0.1:0") // never the standard AMQP port, which a RabbitMQ may hold
	env = append(env, warehouseEnv(t)...)

	// Terminal one: the server, as the first block starts it.
	serverOut := serve(t, exec.Command("bash", "-c", rewrite.Replace(blocks[0])), ws, env, bin, httpAddr)

	// Terminal two: every other block in order, its variables kept.
	state := filepath.Join(ws, "state.sh")
	os.WriteFile(state, nil, 0o644)
	_, errNode := exec.LookPath("node")
	_, errNpm := exec.LookPath("npm")
	for i, block := range blocks[1:] {
		cmds := rewrite.Replace(block)
		if (errNode != nil || errNpm != nil) && strings.Contains(cmds, "demo/sdk") {
			// The JavaScript SDK step needs Node.js (scripts/deps/amqp.sh).
			if os.Getenv("CI") == "true" {
				t.Fatalf("block %d needs node and npm, which are missing", i+1)
			}
			t.Logf("SKIPPING block %d: node or npm is missing", i+1)
			continue
		}
		var checks strings.Builder
		for _, m := range assigned.FindAllStringSubmatch(cmds, -1) {
			fmt.Fprintf(&checks, "[ -n \"${%s}\" ] || { echo '%s is empty' >&2; exit 1; }\n", m[1], m[1])
		}
		script := "set -e\nsource " + state + "\n" + cmds + "\n" + checks.String() + "export -p > " + state + ".new\n"
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
	return []string{"JUNCTION_SECRET_WAREHOUSE_DSN=" + url + sep + "search_path=" + schema}
}

// TestQuickstartRunsAsWritten runs the README's quickstart block as one
// script, the way it is written to be pasted: it starts the server in the
// background, waits for it and drives it with curl and the CLI.
func TestQuickstartRunsAsWritten(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the junction binary")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, quick, ok := strings.Cut(string(readme), "## Quickstart with curl")
	blocks := shellBlocks(quick)
	if !ok || len(blocks) == 0 || !strings.Contains(blocks[0], "serve --demo") {
		t.Fatal("README.md has no quickstart block that starts the demo")
	}
	ws := t.TempDir()
	bin := junctionOnPath(t, ws)
	addr := freeAddr(t)
	rewrite := strings.NewReplacer("go run ./cmd/junction", "junction", "127.0.0.1:8080", addr)
	cmd := exec.Command("bash", "-c", "set -e\n"+rewrite.Replace(blocks[0]))
	cmd.Dir = ws
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "JUNCTION_URL=http://"+addr, "JUNCTION_AMQP_LISTEN=127.0.0.1:0", "JUNCTION_AMQP_LISTEN=127.0.0.1:0",
		"JUNCTION_DEMO_SFTP_LISTEN="+freeAddr(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: the server the block leaves running in the
	// background keeps its output open after the block ends.
	outFile, err := os.Create(filepath.Join(ws, "quickstart.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) })
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		err = fmt.Errorf("still running after 3 minutes")
	}
	raw, _ := os.ReadFile(outFile.Name())
	out := string(raw)
	if err != nil {
		t.Fatalf("the quickstart fails as written: %v\n%s", err, out)
	}
	for _, want := range []string{`"status":"ready"`, `"name":"order-system"`, "billing", "import-account: succeeded", "inserted 2", "export-account: succeeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("the quickstart's output lacks %q:\n%s", want, out)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(ws, "lake", "*")); len(files) == 0 {
		t.Errorf("the export wrote nothing to ./lake:\n%s", out)
	}
}

// serve starts server (the junction binary, or a shell that runs it) in
// dir with env, stops it with the test, and returns once it answers on
// addr; what it prints is in the buffer returned.
func serve(t *testing.T, server *exec.Cmd, dir string, env []string, bin, addr string) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	server.Dir, server.Env, server.Stdout, server.Stderr = dir, env, &out, &out
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		server.Wait()
	})
	wait := exec.Command(filepath.Join(bin, "junction"), "wait", "--url", "http://"+addr, "--timeout", "2m")
	if got, err := wait.CombinedOutput(); err != nil {
		t.Fatalf("the server did not become ready: %v\n%s\n%s", err, got, out.String())
	}
	return &out
}

// junctionOnPath builds the junction binary into a bin folder of ws, beside a
// curl that fails on HTTP errors, and returns the folder.
func junctionOnPath(t *testing.T, ws string) string {
	t.Helper()
	bin := filepath.Join(ws, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "junction"), "../cmd/junction")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	realCurl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	os.WriteFile(filepath.Join(bin, "curl"), []byte("#!/bin/sh\nexec "+realCurl+" --fail-with-body \"$@\"\n"), 0o755)
	return bin
}

// linkDemo makes ws/demo stand for this folder: a link to each entry, except
// the SDK application's folder, which is copied without its node_modules, so
// that the README's npm install writes into the test's own copy and not into
// the folder other tests run the application from.
func linkDemo(t *testing.T, ws string) {
	t.Helper()
	demoDir, _ := filepath.Abs(".")
	target := filepath.Join(ws, "demo")
	entries, err := os.ReadDir(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(target, 0o755)
	for _, e := range entries {
		if e.Name() != "sdk" {
			if err := os.Symlink(filepath.Join(demoDir, e.Name()), filepath.Join(target, e.Name())); err != nil {
				t.Fatal(err)
			}
			continue
		}
		files, _ := os.ReadDir(filepath.Join(demoDir, "sdk"))
		os.MkdirAll(filepath.Join(target, "sdk"), 0o755)
		for _, f := range files {
			if f.IsDir() {
				continue // node_modules: the README installs it
			}
			data, err := os.ReadFile(filepath.Join(demoDir, "sdk", f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(target, "sdk", f.Name()), data, 0o644)
		}
	}
}
