package workflow

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
)

// FunctionCaller runs a function of this Junction for a workflow's Function
// action, with the request an HTTP trigger would receive; the function host
// provides it. A function that fails answers 500; err is for a function that
// cannot be called (none of that name, or not HTTP-triggered).
type FunctionCaller interface {
	CallFunction(ctx context.Context, name string, req *http.Request) (status int, headers http.Header, body []byte, err error)
}

// functionHost is the host name Function actions' requests carry.
const functionHost = "functions.junction.invalid"

// actFunction calls a function of this Junction (Logic Apps' "Function"
// action, Microsoft Learn "Call Azure Functions from workflows in Azure Logic
// Apps", logic-apps-azure-functions): inputs.function.id names it (the
// segment after /functions/ of a resource id, or a bare name); method,
// headers, queries and body make the request; the outputs are statusCode,
// headers and body as for Http, and a status of 400 or more fails the
// action.
func actFunction(ctx context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	name := functionName(m)
	if name == "" {
		return failf("InvalidTemplate", "The Function action '%s' needs inputs.function.id, the function's name or resource id", c.name)
	}
	caller := c.rs.e.opt.Functions
	if caller == nil {
		return failf("FunctionNotAvailable", "No function host runs on this node; the Function action '%s' cannot call '%s'", c.name, name)
	}
	req := map[string]any{"uri": "http://" + functionHost + "/api/" + name, "method": "POST"}
	for _, k := range []string{"method", "headers", "queries", "body", "retryPolicy"} {
		if v, ok := m[k]; ok && v != nil {
			req[k] = v
		}
	}
	client := &http.Client{Transport: functionTransport{caller: caller, name: name}}
	return c.httpCall(ctx, req, client)
}

func functionName(m map[string]any) string {
	fn, _ := m["function"].(map[string]any)
	id, _ := fn["id"].(string)
	if id == "" {
		id, _ = fn["name"].(string)
	}
	if i := strings.LastIndex(strings.ToLower(id), "/functions/"); i >= 0 {
		id = id[i+len("/functions/"):]
	}
	return strings.Trim(id, "/")
}

// functionTransport delivers a Function action's request to the function
// host in process.
type functionTransport struct {
	caller FunctionCaller
	name   string
}

func (t functionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	status, headers, body, err := t.caller.CallFunction(r.Context(), t.name, r)
	if err != nil {
		// No such function (or not one with an HTTP trigger): answered as
		// a 404, which fails the action without retries.
		status, headers, body = http.StatusNotFound, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, []byte(err.Error())
	}
	if headers == nil {
		headers = http.Header{}
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: headers, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}
