package function_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"junction/internal/function"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestSandboxAzureShapes: inline JavaScript in the embedded sandbox sees
// Azure's JavaScript shapes too: repeated query keys joined with ",", any
// non-binary JSON body parsed, camelCase bindingData with sys and
// invocationId, and response cookies sent as Set-Cookie.
func TestSandboxAzureShapes(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"functions/host.json": `{"version": "2.0"}`,
		"functions/shape/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "route": "shape/{id}"},
			{"type": "http", "direction": "out", "name": "res"}]}`,
		"functions/shape/index.js": `module.exports = async function (context, req) {
    context.res = {
        body: {q: req.query.tag, bq: context.bindingData.query.tag, n: req.body.n, id: context.bindingData.id,
               sys: context.bindingData.sys.methodName, ctxReq: context.req.query.tag, inv: context.bindingData.invocationId === context.executionContext.invocationId},
        cookies: [{name: "a", value: "1", maxAge: 60, sameSite: "Strict", httpOnly: true}],
    };
};`,
	}
	b := setup(t, storetest.Open(t, store.SQLite), files, function.Config{})
	r := b.doRaw("POST", "/api/shape/9?tag=x&tag=y", `{"n": 2}`, "Content-Type", "text/plain")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := map[string]any{"ctxReq": "x,y", "q": "x,y", "bq": "x,y", "n": float64(2), "id": "9", "sys": "shape", "inv": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if c := r.header.Get("Set-Cookie"); c != "a=1; max-age=60; path=/; samesite=strict; httponly" {
		t.Errorf("Set-Cookie %q", c)
	}
}

// TestSandboxPremadeRes: in the embedded sandbox, Microsoft's v3 HttpTrigger
// template (testdata/nodeapps/templates-v3, unchanged) answers as documented,
// and v3 functions answer through the pre-made context.res as on Azure's
// Node.js worker: status/json, send, end, sendStatus, setHeader, an assigned
// status; a context.res left untouched leaves the answer to $return.
func TestSandboxPremadeRes(t *testing.T) {
	t.Parallel()
	tmplDir := filepath.Join("testdata", "nodeapps", "templates-v3", "functions", "HttpTrigger")
	tmplJSON, err := os.ReadFile(filepath.Join(tmplDir, "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	tmplJS, err := os.ReadFile(filepath.Join(tmplDir, "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"functions/host.json":                 `{"version": "2.0", "junction": {"javascriptRuntime": "sandbox"}}`,
		"functions/HttpTrigger/function.json": string(tmplJSON),
		"functions/HttpTrigger/index.js":      string(tmplJS),
	}
	add := func(name, code string, ret bool) {
		out := `{"type": "http", "direction": "out", "name": "res"}`
		if ret {
			out = `{"type": "http", "direction": "out", "name": "$return"}`
		}
		files["functions/"+name+"/function.json"] = `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}, ` + out + `]}`
		files["functions/"+name+"/index.js"] = code
	}
	add("statusjson", `module.exports = async function (context, req) { context.res.status(201).json({ made: req.query.name }); };`, false)
	add("send", `module.exports = function (context, req) { context.res.setHeader("X-Way", "send"); context.res.send("sent"); };`, false)
	add("end", `module.exports = function (context) { context.res.header("Content-Type", "text/csv").status(202).end("a,b"); };`, false)
	add("sendstatus", `module.exports = function (context) { context.res.sendStatus(418); };`, false)
	add("assigned", `module.exports = async function (context) { context.res.status = 409; context.res.body = { clash: true }; };`, false)
	add("untouched", `module.exports = async function (context) { return { status: 200, body: "from return" }; };`, false)
	add("bindings", `module.exports = async function (context) { context.bindings.res = { status: 203, body: "from bindings" }; };`, false)
	add("returnbinding", `module.exports = async function (context) { return { status: 200, body: "from $return" }; };`, true)
	b := setup(t, storetest.Open(t, store.SQLite), files, function.Config{})
	tests := []struct {
		path, status, body, header, value string
	}{
		{"/api/HttpTrigger?name=Ada", "200", "Hello, Ada. This HTTP triggered function executed successfully.", "", ""},
		{"/api/HttpTrigger", "200", "This HTTP triggered function executed successfully. Pass a name in the query string or in the request body for a personalized response.", "", ""},
		{"/api/statusjson?name=Ada", "201", `{"made":"Ada"}`, "Content-Type", "application/json"},
		{"/api/send", "200", "sent", "X-Way", "send"},
		{"/api/end", "202", "a,b", "Content-Type", "text/csv"},
		{"/api/sendstatus", "418", "", "", ""},
		{"/api/assigned", "409", `{"clash":true}`, "", ""},
		{"/api/untouched", "200", "from return", "", ""},
		{"/api/bindings", "203", "from bindings", "", ""},
		{"/api/returnbinding", "200", "from $return", "", ""},
	}
	for _, tc := range tests {
		r := b.do("GET", tc.path, nil, "x-functions-key", adminKey) // the template is authLevel function
		if strconv.Itoa(r.status) != tc.status || r.body != tc.body || tc.header != "" && r.header.Get(tc.header) != tc.value {
			t.Errorf("%s: %d %v %q, want %s %q %s=%s", tc.path, r.status, r.header, r.body, tc.status, tc.body, tc.header, tc.value)
		}
	}
}
