package function_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"junction/internal/function"
	"junction/internal/project"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

const bom = "\ufeff"

// nodeFiles is a v3-model app exercising how Azure's Node.js worker loads
// scripts and shapes the context.
var nodeFiles = map[string]string{
	"functions/host.json":           bom + `{"version": "2.0", "functionTimeout": "00:00:03", "concurrency": {"maximumFunctionConcurrency": 2}}`,
	"functions/local.settings.json": bom + `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "node", "GREETING": "Hej"}}`,
	"functions/lib/greet.js":        `module.exports = (n) => process.env.GREETING + ", " + n;`,
	"functions/shapes/function.json": bom + `{"bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "route": "shapes/{id:int}"},
		{"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/shapes/index.js": `const crypto = require("crypto");
const greet = require("../lib/greet");
module.exports = async function (context, req) {
    context.log("shaping", req.params.id);
    console.log("console too");
    context.res.status(201).json({
        greet: greet(req.query.name), query: req.query, id: context.bindingData.id,
        sys: context.bindingData.sys.methodName, sameInvocation: context.bindingData.invocationId === context.invocationId,
        body: req.body, hash: crypto.createHash("sha256").update("x").digest("hex").slice(0, 8),
        path: new URL(req.url).pathname, fn: context.executionContext.functionName,
        header: req.get("X-Thing"), hasBuffer: typeof Buffer === "function",
    });
};`,
	"functions/entry/function.json": `{"scriptFile": "main.mjs", "entryPoint": "handler", "bindings": [
		{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"},
		{"type": "http", "direction": "out", "name": "$return"}]}`,
	"functions/entry/main.mjs": `export const other = 1;
export async function handler(context, req) { return { status: 202, body: "mjs " + req.method }; }`,
	"functions/named/function.json":   `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/named/index.js":        `exports.helper = () => 1; exports.run = async (context) => { context.res = { body: "run" }; };`,
	"functions/olddone/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/olddone/index.js":      `module.exports = function (context, req) { setTimeout(() => { context.res = { headers: {"x-style": "done"}, body: "done" }; context.done(); }, 5); };`,
	"functions/ts/function.json":      `{"scriptFile": "../dist/ts/index.js", "bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/dist/ts/index.js": `"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
const fn = async function (context, req) { context.res = { body: "compiled" }; };
exports.default = fn;`,
	"functions/crash/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/crash/index.js":      `module.exports = async function (context, req) { if (req.query.exit) { process.exit(3); } context.res = { body: String(process.pid) }; };`,
	"functions/slow/function.json":  `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/slow/index.js":       `module.exports = async function () { await new Promise((r) => setTimeout(r, 600000)); };`,
	"functions/conc/function.json":  `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, {"type": "http", "direction": "out", "name": "res"}]}`,
	"functions/conc/index.js": `let active = 0, most = 0;
module.exports = async function (context) {
    active++; most = Math.max(most, active);
    await new Promise((r) => setTimeout(r, 30));
    active--;
    context.res = { body: { most } };
};`,
	"functions/tick/function.json":   `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "myTimer", "schedule": "0 0 0 1 1 *"}]}`,
	"functions/tick/index.js":        `module.exports = async function (context, myTimer) { context.log("pastDue=" + myTimer.isPastDue + " last=" + (myTimer.scheduleStatus && myTimer.scheduleStatus.last)); };`,
	"functions/broken/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}]}`,
	"functions/broken/index.js":      `throw new Error("boom at load");`,
	"functions/blobby/function.json": `{"bindings": [{"type": "blobTrigger", "direction": "in", "name": "blob", "path": "c/{name}", "connection": "AzureWebJobsStorage"}]}`,
}

// TestNodeWorkerV3 checks script loading (entryPoint, run, single export,
// compiled TypeScript, .mjs, done callbacks), the v3 context and request
// shapes, app settings as process.env, a BOM in host.json, function.json and
// local.settings.json, and that functions that fail to load are reported
// while the others run.
func TestNodeWorkerV3(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), nodeFiles, function.Config{DataDir: t.TempDir()})
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"shapes", "POST", "/api/shapes/7?name=Ada&tag=a&tag=b", `{"n":1}`, 201,
			`{"greet":"Hej, Ada","query":{"name":"Ada","tag":"a,b"},"id":"7","sys":"shapes","sameInvocation":true,"body":{"n":1},"hash":"2d711642","path":"/api/shapes/7","fn":"shapes","header":"yes","hasBuffer":true}`},
		{"mjs entryPoint", "PUT", "/api/entry", "", 202, "mjs PUT"},
		{"run among several exports", "GET", "/api/named", "", 200, "run"},
		{"context.done", "GET", "/api/olddone", "", 200, "done"},
		{"exports.default", "GET", "/api/ts", "", 200, "compiled"},
	}
	for _, tc := range tests {
		r := b.doRaw(tc.method, tc.path, tc.body, "X-Thing", "yes")
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			continue
		}
		if strings.HasPrefix(tc.want, "{") {
			var got, want any
			_ = json.Unmarshal([]byte(r.body), &got)
			_ = json.Unmarshal([]byte(tc.want), &want)
			if !jsonEqual(got, want) {
				t.Errorf("%s:\n got %s\nwant %s", tc.name, r.body, tc.want)
			}
		} else if r.body != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, r.body, tc.want)
		}
	}
	waitFor(t, "the shapes logs", func() bool {
		invs := b.invocations("shapes")
		return len(invs) == 1 && len(invs[0].Logs) == 2 && invs[0].Logs[0].Message == "shaping 7" && invs[0].Logs[1].Message == "console too"
	})

	// The timer object is camelCase, as Azure gives it to JavaScript.
	r := b.admin("POST", "/admin/v1/functions/tick/invoke", map[string]any{"input": map[string]any{
		"Schedule": map[string]any{"AdjustForDST": true}, "ScheduleStatus": map[string]any{"Last": "2026-01-01T00:00:00Z"}, "IsPastDue": true}})
	if r.status != 200 || !strings.Contains(r.body, "pastDue=true last=2026-01-01T00:00:00Z") {
		t.Errorf("timer: %d %s", r.status, r.body)
	}

	// Functions that failed to load are listed with their reason; the rest run.
	var list struct{ Value []function.FunctionInfo }
	b.admin("GET", "/admin/v1/functions", nil).json(t, &list)
	states := map[string]function.FunctionInfo{}
	for _, f := range list.Value {
		states[f.Name] = f
	}
	if f := states["broken"]; f.State != "error" || !strings.Contains(f.Error, "boom at load") {
		t.Errorf("broken: %+v", f)
	}
	if f := states["blobby"]; f.State != "error" || !strings.Contains(f.Error, "Azure Blob Storage") || !strings.Contains(f.Error, "not supported by Junction") {
		t.Errorf("blobby: %+v", f)
	}
	if f := states["shapes"]; f.State != "loaded" || f.Kind != "node" {
		t.Errorf("shapes: %+v", f)
	}
	if r := b.do("GET", "/api/broken", nil); r.status != 404 {
		t.Errorf("broken is served: %d", r.status)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestNodeWorkerSupervision: a worker that exits is restarted (the
// invocation that killed it fails, later ones run in the new process); an
// invocation past functionTimeout fails and names the setting; a function
// never runs more than maximumFunctionConcurrency invocations at once.
func TestNodeWorkerSupervision(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.SQLite), nodeFiles, function.Config{DataDir: t.TempDir()})
	first := b.do("GET", "/api/crash", nil)
	if first.status != 200 {
		t.Fatalf("crash: %d %s", first.status, first.body)
	}
	if r := b.do("GET", "/api/crash?exit=1", nil); r.status != 500 {
		t.Fatalf("exiting invocation: %d %s", r.status, r.body)
	}
	var again response
	waitFor(t, "the restarted worker", func() bool {
		again = b.do("GET", "/api/crash", nil)
		return again.status == 200
	})
	if again.body == first.body {
		t.Errorf("the worker was not restarted: pid %s both times", again.body)
	}
	invs := b.invocations("crash")
	var failed *function.Invocation
	for i := range invs {
		if invs[i].Status == function.StatusFailed {
			failed = &invs[i]
		}
	}
	if failed == nil || !strings.Contains(failed.Error, "Node.js worker") {
		t.Errorf("the failed invocation: %+v", failed)
	}

	if r := b.do("GET", "/api/slow", nil); r.status != 500 {
		t.Errorf("slow: %d %s", r.status, r.body)
	}
	waitFor(t, "the timed-out invocation", func() bool {
		invs := b.invocations("slow")
		return len(invs) == 1 && strings.Contains(invs[0].Error, "functionTimeout")
	})
	// Its pending timer would keep the work alive in the worker: the worker
	// that ran it is stopped and a fresh one serves.
	old, err := strconv.Atoi(again.body)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker that ran the timed-out invocation to be stopped", func() bool { return syscall.Kill(old, 0) != nil })
	var fresh response
	waitFor(t, "a fresh worker", func() bool {
		fresh = b.do("GET", "/api/crash", nil)
		return fresh.status == 200
	})
	if fresh.body == again.body {
		t.Errorf("the worker was not restarted after the timeout: pid %s both times", fresh.body)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	most := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.do("GET", "/api/conc", nil)
			var v struct{ Most int }
			_ = json.Unmarshal([]byte(r.body), &v)
			mu.Lock()
			most = max(most, v.Most)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if most < 1 || most > 2 {
		t.Errorf("at most %d invocations ran at once, want 1 or 2 (maximumFunctionConcurrency 2)", most)
	}
}

// TestNodeMissing: a Node.js app without a node to run it is refused with an
// error naming the setting; an app Junction is configured to run in the
// sandbox needs no node.
func TestNodeMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		host    string
		wantErr string
	}{
		{"node app", `{"version": "2.0"}`, "JUNCTION_FUNCTIONS_NODE"},
		{"sandbox forced", `{"version": "2.0", "junction": {"javascriptRuntime": "sandbox"}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"functions/host.json":           tc.host,
				"functions/package.json":        `{}`,
				"functions/hello/function.json": `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "http", "direction": "out", "name": "res"}]}`,
				"functions/hello/index.js":      `module.exports = async function (context) { context.res = {body: "hi"}; };`,
			})
			p, _ := project.Open(os.DirFS(dir), dir)
			comp := function.NewComponent(function.Config{Store: storetest.Open(t, store.SQLite), NodePath: filepath.Join(dir, "no-such-node"), DataDir: t.TempDir()})
			err := comp.LoadProject(context.Background(), p)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("LoadProject: %v, want %q", err, tc.wantErr)
			}
		})
	}
}
