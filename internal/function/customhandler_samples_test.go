package function_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/broker"
	"junction/internal/store/storetest"
)

// lockedBuffer collects a Junction's log lines across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// copyTree copies the files under src (not the .orig originals) into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".orig") {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		writeFiles(t, dst, map[string]string{filepath.ToSlash(rel): string(data)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAzureSamplesGoCustomHandler runs Microsoft's Go custom handler sample
// (testdata/azure-samples-go, see its SOURCE) unchanged in a whole Junction
// on both stores: built with go build from its folder under the executable
// name host.json names, its forwarded HTTP functions answer as the sample
// documents, an HTTP function's outputs set the response and its $return goes
// to a queue, and its queue function gets the Service Bus metadata the way
// the Azure host serialises it (scalars as JSON text) and returns to the next
// queue.
func TestAzureSamplesGoCustomHandler(t *testing.T) {
	t.Parallel()
	exe := filepath.Join(t.TempDir(), "GoCustomHandlers.exe")
	cmd := exec.Command("go", "build", "-o", exe, ".")
	cmd.Dir = filepath.Join("testdata", "azure-samples-go")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the sample: %v\n%s", err, out)
	}
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyTree(t, filepath.Join("testdata", "azure-samples-go"), filepath.Join(dir, "functions"))
			os.Remove(filepath.Join(dir, "functions", "GoCustomHandlers.go"))
			data, err := os.ReadFile(exe)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "functions", "GoCustomHandlers.exe"), data, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, dir, map[string]string{"servicebus/config.json": `{"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
				{"Name": "test-input-node", "Properties": {}}, {"Name": "test-output-node", "Properties": {}}]}], "Logging": {"Type": "File"}}}`})
			logs := &lockedBuffer{}
			a, base := apptest.Start(t, d, func(c *app.Config) {
				c.Project = dir
				c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			})

			// The sample's functions use authLevel's default, function: the
			// master key opens them.
			get := func(method, path string, body io.Reader) (*http.Response, string) {
				t.Helper()
				req, _ := http.NewRequest(method, base+path, body)
				req.Header.Set("x-functions-key", "k")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp, string(b)
			}
			for _, name := range []string{"SimpleHttpTrigger", "SimpleHttpTriggerWithReturn"} {
				if resp, body := get("GET", "/api/"+name+"?name=Ada", nil); resp.StatusCode != 200 || body != "Hello World from go worker" {
					t.Errorf("%s: %d %q", name, resp.StatusCode, body)
				}
			}
			if resp, err := http.Get(base + "/api/SimpleHttpTrigger"); err != nil || resp.StatusCode != 401 {
				t.Errorf("SimpleHttpTrigger without a key: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}

			resp, body := get("POST", "/api/HttpTriggerStringReturnValue", strings.NewReader(`{"name": "Ada"}`))
			if resp.StatusCode != 201 || body != "my world" || resp.Header.Get("header1") != "header1Val" || resp.Header.Get("header2") != "header2Val" {
				t.Errorf("HttpTriggerStringReturnValue: %d %v %q", resp.StatusCode, resp.Header, body)
			}
			b := brokerOf(a)
			ctx := context.Background()
			got, err := b.Receive(ctx, "test-output-node", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Wait: 20 * time.Second})
			if err != nil || len(got) != 1 || string(got[0].Body) != "Hello,World" {
				t.Fatalf("HttpTriggerStringReturnValue's $return: %v %v", got, err)
			}

			if _, err := b.Send(ctx, "test-input-node", broker.Message{MessageID: "m-1", Body: []byte("hello queue")}); err != nil {
				t.Fatal(err)
			}
			got, err = b.Receive(ctx, "test-output-node", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Wait: 20 * time.Second})
			if err != nil || len(got) != 1 || string(got[0].Body) != "HelloWorld" {
				t.Fatalf("QueueTrigger's $return: %v %v", got, err)
			}
			waitLog(t, base, "QueueTrigger", "test log2")
			// The handler prints the Metadata and Data it decoded: strings
			// arrive as JSON text (quoted), numbers as their digits.
			waitFor(t, "the handler's print of the metadata", func() bool {
				s := logs.String()
				return strings.Contains(s, `MessageId:\"m-1\"`) && strings.Contains(s, `DeliveryCount:1`) && strings.Contains(s, "map[myQueueItem:hello queue]")
			})
		})
	}
}

// TestAzfuncLibraryExamples runs two example apps of a community Go library
// for custom handlers (testdata/azfunc, see its SOURCE), unchanged, in a
// whole Junction on both stores: each built with go build from its own
// folder, under the name its host.json gives. The Service Bus example decodes
// the trigger data and metadata the Azure host sends, so it shows that
// Junction sends them the same way.
func TestAzfuncLibraryExamples(t *testing.T) {
	t.Parallel()
	build := func(t *testing.T, example string) string {
		t.Helper()
		exe := filepath.Join(t.TempDir(), example)
		cmd := exec.Command("go", "build", "-o", exe, ".")
		cmd.Dir = filepath.Join("testdata", "azfunc", "_examples", example)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", example, err, out)
		}
		return exe
	}
	// project copies an example with its built executable into a project.
	project := func(t *testing.T, example, exe, extra string) string {
		t.Helper()
		dir := t.TempDir()
		copyTree(t, filepath.Join("testdata", "azfunc", "_examples", example), filepath.Join(dir, "functions"))
		data, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "functions", example), data, 0o755); err != nil {
			t.Fatal(err)
		}
		if extra != "" {
			writeFiles(t, dir, map[string]string{"servicebus/config.json": extra})
		}
		return dir
	}
	httpExe, sbExe := build(t, "http-trigger"), build(t, "service-bus-queue-trigger")
	for _, d := range storetest.Drivers {
		t.Run("http-trigger/"+string(d), func(t *testing.T) {
			t.Parallel()
			dir := project(t, "http-trigger", httpExe, "")
			logs := &lockedBuffer{}
			_, base := apptest.Start(t, d, func(c *app.Config) {
				c.Project, c.Logger = dir, slog.New(slog.NewTextHandler(logs, nil))
			})
			post := func(body string) (int, string) {
				req, _ := http.NewRequest("POST", base+"/api/hello-http", strings.NewReader(body))
				req.Header.Set("x-functions-key", "k") // authLevel function
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, body := post(`{"message": "hello"}`); code != 200 || body != `{"message":"request received"}` {
				t.Errorf("hello-http: %d %q", code, body)
			}
			if code, _ := post(`not json`); code != 400 {
				t.Errorf("hello-http with a bad body: %d", code)
			}
			// The library logs JSON lines to stdout, which Junction logs.
			waitFor(t, "the function's log line", func() bool {
				return strings.Contains(logs.String(), `\"msg\":\"request received\",\"body\":{\"message\":\"hello\"}`)
			})
		})
		t.Run("service-bus-queue-trigger/"+string(d), func(t *testing.T) {
			t.Parallel()
			dir := project(t, "service-bus-queue-trigger", sbExe, `{"UserConfig": {"Namespaces": [{"Name": "ns", "Queues": [
				{"Name": "items", "Properties": {}}, {"Name": "out", "Properties": {}}]}], "Logging": {"Type": "File"}}}`)
			logs := &lockedBuffer{}
			a, _ := apptest.Start(t, d, func(c *app.Config) {
				c.Project, c.Logger = dir, slog.New(slog.NewTextHandler(logs, nil))
			})
			b := brokerOf(a)
			ctx := context.Background()
			if _, err := b.Send(ctx, "items", broker.Message{MessageID: "m-7", ContentType: "application/json", Body: []byte(`{"message": "hi"}`)}); err != nil {
				t.Fatal(err)
			}
			got, err := b.Receive(ctx, "out", broker.ReceiveOptions{Mode: broker.ReceiveAndDelete, Wait: 20 * time.Second})
			if err != nil || len(got) != 1 || string(got[0].Body) != `{"message":"message received"}` {
				t.Fatalf("out: %v %v", got, err)
			}
			waitFor(t, "the function's log line", func() bool {
				return strings.Contains(logs.String(), `\"msg\":\"service bus queue message received\",\"content\":{\"message\":\"hi\"}`)
			})
		})
	}
}
