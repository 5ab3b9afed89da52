package function

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"junction/internal/function/js"
	"junction/internal/lifecycle"
)

// customHandler supervises a custom handler process: it starts the
// executable with FUNCTIONS_CUSTOMHANDLER_PORT (and FUNCTIONS_HTTPWORKER_PORT), waits until the port answers,
// probes it while it runs, restarts it (with backoff) when it exits or stops
// answering, and stops it with the host.
//
// The Node.js worker of JavaScript apps is supervised the same way: resolve
// and environ say what to start.
type customHandler struct {
	cfg    *CustomHandlerConfig
	dir    string
	log    *slog.Logger
	client *http.Client
	// resolve gives the executable, its arguments and working directory;
	// environ the process environment for the port it must listen on.
	resolve func() (string, []string, string, error)
	environ func(port int) []string
	what    string // how messages name the process
	token   string // sent with every call, when set (the Node.js worker requires it)

	mu       sync.Mutex
	base     *url.URL      // nil while no process is ready
	ready    chan struct{} // closed when base is set
	proc     *os.Process
	restarts int
	// inflight counts the invocations each process (by its base URL) is
	// running; stale marks a process that ran an invocation past its
	// timeout (see acquire).
	inflight map[*url.URL]int
	stale    map[*url.URL]bool
	// supervisor runs the process and restarts it when it exits.
	supervisor lifecycle.Worker
	proxy      *httputil.ReverseProxy
}

func newCustomHandler(cfg *CustomHandlerConfig, dir string, environ func([]string) []string, log *slog.Logger) *customHandler {
	c := newSupervised(log.With("customHandler", cfg.Description.DefaultExecutablePath))
	c.cfg, c.dir = cfg, dir
	c.resolve = c.command
	c.environ = func(port int) []string {
		// The Azure host sets both port variables (older samples read
		// FUNCTIONS_HTTPWORKER_PORT) and the app's root folder.
		p := strconv.Itoa(port)
		return append(environ(os.Environ()), "FUNCTIONS_CUSTOMHANDLER_PORT="+p, "FUNCTIONS_HTTPWORKER_PORT="+p, "FUNCTIONS_APP_ROOT_PATH="+dir)
	}
	return c
}

// newSupervised returns a process supervisor whose caller sets resolve and
// environ.
func newSupervised(log *slog.Logger) *customHandler {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	c := &customHandler{log: log, client: &http.Client{Transport: tr}, ready: make(chan struct{}), what: "the custom handler"}
	c.proxy = &httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			c.mu.Lock()
			base := c.base
			c.mu.Unlock()
			if base != nil {
				pr.SetURL(base)
			}
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "the custom handler did not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
	return c
}

// command resolves the executable and its working directory.
func (c *customHandler) command() (string, []string, string, error) {
	d := c.cfg.Description
	exe := d.DefaultExecutablePath
	wd := c.dir
	if d.WorkingDirectory != "" {
		if filepath.IsAbs(d.WorkingDirectory) || wd == "" {
			wd = d.WorkingDirectory
		} else {
			wd = filepath.Join(wd, d.WorkingDirectory)
		}
	}
	if !filepath.IsAbs(exe) && strings.ContainsAny(exe, `/\`) || !filepath.IsAbs(exe) && c.dir != "" && fileExists(filepath.Join(c.dir, exe)) {
		if c.dir == "" {
			return "", nil, "", fmt.Errorf("custom handler %q: the function app is not on disk", exe)
		}
		exe = filepath.Join(c.dir, exe)
		if abs, err := filepath.Abs(exe); err == nil {
			exe = abs
		}
	} else if !filepath.IsAbs(exe) {
		p, err := exec.LookPath(exe)
		if err != nil {
			return "", nil, "", fmt.Errorf("custom handler %q: not in the function app folder nor on PATH", exe)
		}
		exe = p
	}
	args := append([]string(nil), d.Arguments...)
	if d.DefaultWorkerPath != "" {
		args = append([]string{d.DefaultWorkerPath}, args...)
	}
	return exe, args, wd, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func (c *customHandler) start(ctx context.Context) error {
	if _, _, _, err := c.resolve(); err != nil {
		return err
	}
	c.supervisor.Start(ctx, c.supervise)
	return nil
}

// stop stops the process within ctx's deadline; safe twice and without start.
func (c *customHandler) stop(ctx context.Context) error { return c.supervisor.Stop(ctx) }

// Restarts counts how many times the process was started again.
func (c *customHandler) Restarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

func (c *customHandler) supervise(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			c.mu.Lock()
			c.restarts++
			c.mu.Unlock()
		}
		began := time.Now()
		err := c.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("process exited; restarting", "err", err, "after", backoff)
		if time.Since(began) > 30*time.Second {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// runOnce starts the process and returns when it exits (or is stopped).
func (c *customHandler) runOnce(ctx context.Context) error {
	exe, args, wd, err := c.resolve()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = wd
	cmd.Env = c.environ(port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", exe, err)
	}
	go c.pipe(stdout, slog.LevelInfo)
	go c.pipe(stderr, slog.LevelWarn)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c.mu.Lock()
	c.proc = cmd.Process
	c.mu.Unlock()
	base := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
	kill := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	// Wait for the port to answer.
	deadline := time.Now().Add(60 * time.Second)
	for !probe(base.Host) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before listening on port %d: %v", port, err)
		case <-ctx.Done():
			kill()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			kill()
			return fmt.Errorf("did not listen on port %d within a minute", port)
		}
	}
	c.setBase(base)
	defer c.setBase(nil)
	c.log.Info("process ready", "port", port, "pid", cmd.Process.Pid)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		case <-ctx.Done():
			kill()
			return ctx.Err()
		case <-tick.C:
			if probe(base.Host) {
				failures = 0
				continue
			}
			if failures++; failures >= 3 {
				kill()
				return errors.New("stopped answering on its port")
			}
		}
	}
}

func (c *customHandler) setBase(u *url.URL) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u != nil {
		c.base = u
		close(c.ready)
		return
	}
	if c.base != nil {
		c.base = nil
		c.ready = make(chan struct{})
	}
	c.client.CloseIdleConnections()
}

// endpoint waits until a process is ready.
func (c *customHandler) endpoint(ctx context.Context) (*url.URL, error) {
	for {
		c.mu.Lock()
		base, ready := c.base, c.ready
		c.mu.Unlock()
		if base != nil {
			return base, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, errors.New(c.what + " is not running (it is starting or restarting)")
		}
	}
}

// acquire waits until a process is ready and counts an invocation on it.
// The invocation's release says whether it ran past its timeout: the work it
// started may still be running in the process (timers, pending I/O, a
// loop), and nothing in the worker protocol can stop it, so the process is
// stopped and the supervisor starts a fresh one, as the Azure host restarts
// after a function timeout. The process is stopped only once no invocation
// is in flight on it; until then it keeps serving, and new invocations keep
// going to it.
func (c *customHandler) acquire(ctx context.Context) (*url.URL, func(timedOut bool), error) {
	for {
		c.mu.Lock()
		base, ready := c.base, c.ready
		if base != nil {
			if c.inflight == nil {
				c.inflight, c.stale = map[*url.URL]int{}, map[*url.URL]bool{}
			}
			c.inflight[base]++
			c.mu.Unlock()
			return base, func(timedOut bool) { c.release(base, timedOut) }, nil
		}
		c.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, nil, errors.New(c.what + " is not running (it is starting or restarting)")
		}
	}
}

func (c *customHandler) release(base *url.URL, timedOut bool) {
	c.mu.Lock()
	c.inflight[base]--
	if timedOut {
		c.stale[base] = true
	}
	if c.inflight[base] > 0 {
		c.mu.Unlock()
		return
	}
	recycle := c.stale[base] && c.base == base && c.proc != nil
	delete(c.inflight, base)
	delete(c.stale, base)
	proc := c.proc
	if recycle {
		// No new invocation goes to the process from here on.
		c.base = nil
		c.ready = make(chan struct{})
	}
	c.mu.Unlock()
	if recycle {
		c.log.Warn("stopping the process after an invocation ran past its timeout; it is started again", "pid", proc.Pid)
		_ = syscall.Kill(-proc.Pid, syscall.SIGKILL)
	}
}

func (c *customHandler) pipe(r io.Reader, level slog.Level) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		c.log.Log(context.Background(), level, sc.Text())
	}
}

func probe(hostport string) bool {
	conn, err := net.DialTimeout("tcp", hostport, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// invokeRequest is the custom handler protocol's request.
type invokeRequest struct {
	Data     map[string]any `json:"Data"`
	Metadata map[string]any `json:"Metadata"`
}

// invokeResponse is the custom handler protocol's response.
type invokeResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// forwards says whether an HTTP trigger's request goes to the handler as it
// is: enableForwardingHttpRequest and only an http output, as Azure does.
func (h *Host) forwards(f *fn) bool {
	if !h.cfg.Host.CustomHandler.EnableForwardingHttpRequest || f.def.Trigger.Type != HTTPTrigger {
		return false
	}
	for _, o := range f.def.Outputs {
		if o.Type != HTTPOutput {
			return false
		}
	}
	return true
}

func (h *Host) runCustom(ctx context.Context, f *fn, t Trigger, out *Outcome) {
	c := h.handler
	if t.request != nil && h.forwards(f) {
		if _, err := c.endpoint(ctx); err != nil {
			out.Err = err
			return
		}
		rec := &statusRecorder{ResponseWriter: t.writer}
		r := t.request.Clone(ctx)
		r.Body = io.NopCloser(bytes.NewReader(t.body))
		r.ContentLength = int64(len(t.body))
		t.writer.Header().Set("x-junction-invocation-id", out.InvocationID)
		c.proxy.ServeHTTP(rec, r)
		out.forwarded = true
		if rec.status >= 500 {
			out.Err = fmt.Errorf("the custom handler answered %d", rec.status)
		}
		return
	}
	base, err := c.endpoint(ctx)
	if err != nil {
		out.Err = err
		return
	}
	data := map[string]any{}
	trig := f.def.Trigger
	if t.request != nil {
		data[trig.Name] = customHTTPRequest(t)
	} else {
		data[trig.Name] = t.Value
	}
	meta := customMetadata(t.BindingData)
	meta["sys"] = map[string]any{"MethodName": f.def.Name, "UtcNow": time.Now().UTC().Format(time.RFC3339Nano), "RandGuid": newID()}
	body, err := json.Marshal(invokeRequest{Data: data, Metadata: meta})
	if err != nil {
		out.Err = fmt.Errorf("encode the invocation: %w", err)
		return
	}
	resp, err := c.post(ctx, base, f.def.Name, out.InvocationID, body)
	if err != nil && ctx.Err() == nil && !probe(base.Host) {
		// The process died since it was last ready (the request met a refused
		// or dead connection): wait for its restart and try once more.
		c.forget(base)
		if base, err = c.endpoint(ctx); err == nil {
			resp, err = c.post(ctx, base, f.def.Name, out.InvocationID, body)
		}
	}
	if err != nil {
		out.Err = fmt.Errorf("call the custom handler: %w", err)
		return
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		out.Err = fmt.Errorf("read the custom handler's answer: %w", err)
		return
	}
	var ir invokeResponse
	decErr := json.Unmarshal(raw, &ir)
	for _, l := range ir.Logs {
		out.Logs = append(out.Logs, js.Log{Time: time.Now().UTC(), Level: "information", Message: l})
	}
	if resp.StatusCode/100 != 2 {
		out.Err = fmt.Errorf("the custom handler answered %s: %s", resp.Status, snippet(raw))
		return
	}
	if decErr != nil {
		out.Err = fmt.Errorf("the custom handler's answer is not {Outputs, Logs, ReturnValue}: %v", decErr)
		return
	}
	out.Outputs = map[string]any{}
	for _, o := range f.def.Outputs {
		if o.Name == "$return" {
			out.Outputs[o.Name] = ir.ReturnValue
			continue
		}
		for k, v := range ir.Outputs {
			if strings.EqualFold(k, o.Name) {
				out.Outputs[o.Name] = v
			}
		}
		if _, ok := out.Outputs[o.Name]; !ok && o.Type == HTTPOutput && ir.ReturnValue != nil {
			out.Outputs[o.Name] = ir.ReturnValue
		}
	}
	out.Outputs["$return"] = ir.ReturnValue
}

// customMetadata is the trigger metadata as the Azure host passes it to
// custom handlers: each scalar serialised as JSON text (a string arrives
// quoted, "\"abc\"", a number as its digits, "1"), except date-times, which
// arrive as the host formats them, "2023-10-12T20:13:49" (UTC, whole
// seconds, no zone, as a Service Bus message's EnqueuedTimeUtc does);
// objects and arrays as they are.
func customMetadata(data map[string]any) map[string]any {
	meta := make(map[string]any, len(data)+1)
	for k, v := range data {
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				meta[k] = t.UTC().Format("2006-01-02T15:04:05")
				continue
			}
		}
		switch v.(type) {
		case map[string]any, []any, nil:
			meta[k] = v
		default:
			b, err := json.Marshal(v)
			if err != nil {
				meta[k] = v
				continue
			}
			meta[k] = string(b)
		}
	}
	return meta
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// customHTTPRequest is the request as the custom handler protocol passes it.
func customHTTPRequest(t Trigger) map[string]any {
	r := t.request
	headers := map[string]any{}
	for k, vs := range r.Header {
		headers[k] = vs
	}
	query := map[string]any{}
	for k, vs := range r.URL.Query() {
		query[k] = vs[0]
	}
	params := map[string]any{}
	for k, v := range t.params {
		params[k] = v
	}
	return map[string]any{
		"Url": absoluteURL(r), "Method": r.Method, "Query": query, "Headers": headers,
		"Params": params, "Body": string(t.body), "Identities": []any{},
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *customHandler) post(ctx context.Context, base *url.URL, function, invocation string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.JoinPath(function).String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", invocation)
	if c.token != "" {
		req.Header.Set("X-Junction-Worker-Token", c.token)
	}
	return c.client.Do(req)
}

// forget drops base as the endpoint when it is still the current one, so
// that callers wait for the supervisor's restart.
func (c *customHandler) forget(base *url.URL) {
	if probe(base.Host) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base == base {
		c.base = nil
		c.ready = make(chan struct{})
	}
	c.client.CloseIdleConnections()
}
