// Command gohandler is a custom handler used by the function host's tests.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

type invokeRequest struct {
	Data     map[string]json.RawMessage
	Metadata map[string]any
}

type req struct {
	Query   map[string]string
	Method  string
	Body    string
	Params  map[string]string
	Headers map[string][]string
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hello", func(w http.ResponseWriter, r *http.Request) {
		var in invokeRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var rq req
		_ = json.Unmarshal(in.Data["req"], &rq)
		sys, _ := in.Metadata["sys"].(map[string]any)
		reply(w, map[string]any{
			"Outputs": map[string]any{"res": map[string]any{
				"statusCode": 200,
				"body":       fmt.Sprintf("hello %s from go (%s %s, pid %d)", rq.Query["name"], rq.Method, sys["MethodName"], os.Getpid()),
				"headers":    map[string]any{"X-Handler": "go"},
			}},
			"Logs": []string{"said hello to " + rq.Query["name"]},
		})
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"Logs": []string{"about to fail"}})
		_ = r
	})
	mux.HandleFunc("POST /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "something broke inside", 500)
	})
	mux.HandleFunc("POST /crash", func(w http.ResponseWriter, r *http.Request) {
		os.Exit(3)
	})
	mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		var in invokeRequest
		_ = json.NewDecoder(r.Body).Decode(&in)
		var rq req
		_ = json.Unmarshal(in.Data["req"], &rq)
		if p := rq.Query["entered"]; p != "" {
			_ = os.WriteFile(p, []byte("in"), 0o644)
		}
		for p := rq.Query["release"]; p != ""; {
			if _, err := os.Stat(p); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		reply(w, map[string]any{"Outputs": map[string]any{"res": map[string]any{"statusCode": 200, "body": "done"}}})
	})
	mux.HandleFunc("POST /onevent", func(w http.ResponseWriter, r *http.Request) {
		var in invokeRequest
		_ = json.NewDecoder(r.Body).Decode(&in)
		var ev map[string]any
		_ = json.Unmarshal(in.Data["event"], &ev)
		reply(w, map[string]any{"Logs": []string{fmt.Sprintf("event %v of type %v", ev["id"], ev["eventType"])}, "ReturnValue": ev["subject"]})
	})
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if err := http.ListenAndServe("127.0.0.1:"+port, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
