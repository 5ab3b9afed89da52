package function_test

import (
	"encoding/json"
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
	b := setup(t, storetest.Open(t, store.SQLite), files, function.Options{})
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
