package job_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"junction/internal/app/apptest"
)

// TestKill9Resume kills a real junction process with SIGKILL in the middle of
// a run; the restarted process resumes the run after its last committed chunk.
func TestKill9Resume(t *testing.T) {
	t.Parallel()
	bin := apptest.Binary(t)
	proj, data := t.TempDir(), t.TempDir()
	warehouse := filepath.Join(t.TempDir(), "w.db")
	os.MkdirAll(filepath.Join(proj, "jobs"), 0o755)
	os.WriteFile(filepath.Join(proj, "jobs", "big.yaml"), []byte(`
source: {type: file, path: in, pattern: "*.csv"}
mapping: [{to: id, type: int, required: true}, {to: name}]
key: [id]
policy: {onError: accept}
chunk: 250
sink: {type: sql, driver: sqlite, dsn: "`+warehouse+`", table: big}
`), 0o644)
	const rows = 20000
	var sb strings.Builder
	sb.WriteString("id,name\n")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&sb, "%d,name %d\n", i, i)
	}
	os.MkdirAll(filepath.Join(data, "files", "in"), 0o755)
	os.WriteFile(filepath.Join(data, "files", "in", "big.csv"), []byte(sb.String()), 0o644)

	addr := freePort(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--listen", addr, "--amqp-listen", "127.0.0.1:0", "--data", data, "--project", proj)
		cmd.Env = append(os.Environ(), "JUNCTION_ADMIN_KEY=k", "JUNCTION_JOB_LEASE=5s") // short takeover, long enough for a busy machine
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	type run struct {
		ID         int64
		Status     string
		Attempt    int
		Checkpoint int64
		Inserted   int64
		Read       int64
		Error      string
		Recon      *struct{ Matched bool } `json:"reconciliation"`
	}
	api := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			b.WriteString(sc.Text())
		}
		return resp.StatusCode, []byte(b.String())
	}
	waitFor := func(what string, ok func() bool) {
		deadline := time.Now().Add(300 * time.Second) // a safety bound, not a timing assertion
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first := start()
	waitFor("the server", func() bool { s, _ := api("GET", "/admin/v1/jobs", ""); return s == 200 })
	if s, b := api("POST", "/admin/v1/jobs/big/runs", `{"file":"big.csv"}`); s != 202 {
		t.Fatalf("start: %d %s", s, b)
	}
	var r run
	waitFor("a checkpoint", func() bool {
		_, b := api("GET", "/admin/v1/jobs/big/runs/1", "")
		json.Unmarshal(b, &r)
		return r.Checkpoint > 0 || r.Status == "succeeded"
	})
	if r.Status == "succeeded" {
		t.Skip("the run finished before it could be killed; nothing to resume")
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	killedAt := r.Checkpoint
	start()
	waitFor("the resumed run", func() bool {
		_, b := api("GET", "/admin/v1/jobs/big/runs/1", "")
		r = run{}
		json.Unmarshal(b, &r)
		return r.Status == "succeeded" || r.Status == "failed"
	})
	if r.Status != "succeeded" || r.Attempt < 2 || r.Read != rows || r.Recon == nil || !r.Recon.Matched {
		t.Fatalf("after kill -9 at checkpoint %d: %+v", killedAt, r)
	}
	if r.Inserted > rows || r.Inserted < rows-250 {
		t.Fatalf("inserted %d of %d rows (a replayed chunk may count as unchanged)", r.Inserted, rows)
	}
	t.Logf("killed at source row %d; resumed on attempt %d", killedAt, r.Attempt)
}
