package demo_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docBlock is one shell block of a document: its commands, and why it is
// not run when the line above its fence says so (<!-- not run: reason -->).
type docBlock struct {
	code, notRun string
}

var notRunMark = regexp.MustCompile(`<!-- not run: (.+?) -->\s*$`)

// docBlocks reads a document's shell blocks.
func docBlocks(md string) []docBlock {
	var out []docBlock
	for _, loc := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatchIndex(md, -1) {
		b := docBlock{code: md[loc[2]:loc[3]]}
		if m := notRunMark.FindStringSubmatch(strings.TrimRight(md[:loc[0]], "\n")); m != nil {
			b.notRun = m[1]
		}
		out = append(out, b)
	}
	return out
}

// TestDocsCommandsRunAsWritten runs the shell blocks of every page in docs/
// against a demo server, in order, one shell session per page, as a reader
// pastes them (curl failing on HTTP errors, each block under set -e). A block
// that cannot run as written (placeholders the reader fills in, a server of
// its own, a benchmark of minutes) says so above its fence with
// <!-- not run: reason -->; a block with neither fails the test, so a new
// command in the docs is either run or explained. Only the address (a free
// port instead of 8080) and `go run ./cmd/junction` (the binary built once)
// are changed; README.md and demo/README.md have tests of their own.
func TestDocsCommandsRunAsWritten(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the junction binary")
	}
	pages, err := filepath.Glob("../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	ws := t.TempDir()
	bin := junctionOnPath(t, ws)
	linkDemo(t, ws)
	addr := freeAddr(t)
	env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "JUNCTION_ADMIN_KEY=docs-key", "JUNCTION_URL=http://"+addr,
		"JUNCTION_AMQP_LISTEN=127.0.0.1:0", "JUNCTION_DEMO_SFTP_LISTEN="+freeAddr(t), "JUNCTION_DATA="+filepath.Join(ws, "junction-data"))
	serve(t, exec.Command(filepath.Join(bin, "junction"), "serve", "--demo", "--listen", addr), ws, env, bin, addr)

	rewrite := strings.NewReplacer("go run ./cmd/junction", "junction", "127.0.0.1:8080", addr, "localhost:8080", addr)
	ran := 0
	for _, page := range pages {
		md, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		var script strings.Builder
		script.WriteString("set -e\n")
		for i, b := range docBlocks(string(md)) {
			if b.notRun != "" {
				continue
			}
			script.WriteString("# " + filepath.Base(page) + ", block " + strconv.Itoa(i+1) + "\n" + rewrite.Replace(b.code) + "\n")
			ran++
		}
		if script.Len() == len("set -e\n") {
			continue
		}
		cmd := exec.Command("bash", "-c", script.String())
		cmd.Dir, cmd.Env = ws, env
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%s: still running after 2 minutes:\n%s", page, out)
		}
		if err != nil {
			t.Errorf("%s does not run as written: %v\n%s\n--- script ---\n%s", page, err, out, script.String())
		}
		for _, bad := range []string{`"error":{`, "Error:"} {
			if strings.Contains(string(out), bad) {
				t.Errorf("%s: a command answered an error:\n%s", page, out)
			}
		}
	}
	// Every page's reference blocks run with the demo's values; what is
	// left (a second server, benchmarks, a real org) is a handful.
	if ran < 20 {
		t.Fatalf("only %d docs blocks ran", ran)
	}
}

// TestDocsBlocksAreRunOrExplained: every shell block in docs/ either runs in
// TestDocsCommandsRunAsWritten or says above it why it cannot; the reasons
// are sentences, not placeholders.
func TestDocsBlocksAreRunOrExplained(t *testing.T) {
	t.Parallel()
	pages, _ := filepath.Glob("../docs/*.md")
	for _, page := range pages {
		md, _ := os.ReadFile(page)
		for i, b := range docBlocks(string(md)) {
			if b.notRun != "" && len(strings.Fields(b.notRun)) < 3 {
				t.Errorf("%s block %d: %q does not say why it is not run", page, i+1, b.notRun)
			}
		}
	}
}

// fence is a fenced block of a page: its language and its lines.
var fence = regexp.MustCompile("(?ms)^[ \t]*```([^\n]*)\n(.*?)^[ \t]*```")

// commandWord starts a line that is a command a reader would paste.
var commandWord = regexp.MustCompile(`^(curl|junction|go|npm|export|cd|make|sftp|jq|docker) `)

// placeholder marks a synopsis line (junction serve [flags], validate DIR,
// list|create), which is read, not pasted.
var placeholder = regexp.MustCompile(`[\[|]|\b[A-Z]{2,}\b`)

// TestDocsFencesSayWhatTheyHold: every fenced block in docs/ names what it
// holds, so that no command escapes TestDocsCommandsRunAsWritten: commands
// are sh (run, or explained), output and transcripts are text, files their
// format. A text block that starts with a bare command (no "$ " prompt of a
// transcript, no placeholders of a synopsis) is a command block mislabelled.
func TestDocsFencesSayWhatTheyHold(t *testing.T) {
	t.Parallel()
	pages, _ := filepath.Glob("../docs/*.md")
	blocks := 0
	for _, page := range pages {
		md, _ := os.ReadFile(page)
		for _, m := range fence.FindAllStringSubmatch(string(md), -1) {
			blocks++
			lang, body := strings.TrimSpace(m[1]), m[2]
			first, _, _ := strings.Cut(body, "\n")
			switch {
			case lang == "":
				t.Errorf("%s: a block without a language (sh for commands, text for output): %q", page, first)
			case lang == "bash" || lang == "shell" || lang == "console":
				t.Errorf("%s: a %s block: commands are sh (so that they run), transcripts text: %q", page, lang, first)
			case lang == "text" && commandWord.MatchString(first) && !placeholder.MatchString(first):
				t.Errorf("%s: commands in a text block: make it sh: %q", page, first)
			}
		}
	}
	if blocks < 50 {
		t.Fatalf("only %d fenced blocks in docs/: the pattern reads none", blocks)
	}
}
