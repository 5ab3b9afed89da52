package httpapi_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"junction/internal/cli"
	"junction/internal/store"
)

func TestQueueCLI(t *testing.T) {
	t.Parallel()
	e := start(t, store.SQLite, adminKey, "")
	e.want(e.do("PUT", "/admin/v1/servicebus/queues/work", bearer(adminKey), []byte(`{"properties":{"maxDeliveryCount":1}}`)), 201)
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		full := append([]string{"queue"}, args...)
		full = append(full, "--url", e.base, "--key", adminKey)
		code := cli.Main(context.Background(), full, cli.IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Env: func(string) string { return "" }})
		return code, out.String(), errOut.String()
	}
	if code, out, errOut := run("", "send", "work", "--body", "hello", "--label", "greet", "--prop", "n=5", "--prop", "who=me"); code != 0 {
		t.Fatalf("send: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run("from stdin", "send", "work"); code != 0 {
		t.Fatalf("send stdin: %s", errOut)
	}
	if code, out, _ := run("", "peek", "work"); code != 0 || !strings.Contains(out, "hello") || !strings.Contains(out, "from stdin") {
		t.Fatalf("peek: %s", out)
	}
	// Lock one and let a settle via the API dead-letter it: maxDeliveryCount 1.
	code, out, _ := run("", "receive", "work", "--lock", "--timeout", "1")
	if code != 0 || !strings.Contains(out, "hello") {
		t.Fatalf("receive --lock: %s", out)
	}
	fields := strings.Fields(strings.Split(out, "\n")[1])
	lock := fields[len(fields)-1]
	e.want(e.do("POST", "/servicebus/work/$settle", bearer(adminKey), []byte(`{"settlements":[{"lockToken":"`+lock+`","action":"abandon"}]}`)), 200)
	if code, out, _ := run("", "dlq", "list", "work"); code != 0 || !strings.Contains(out, "MaxDeliveryCountExceeded") {
		t.Fatalf("dlq list: %s", out)
	}
	if code, out, _ := run("", "dlq", "resubmit", "work"); code != 0 || !strings.Contains(out, "Resubmitted 1") {
		t.Fatalf("dlq resubmit: %s", out)
	}
	if code, out, _ := run("", "receive", "work", "--max", "5", "--timeout", "1"); code != 0 || !strings.Contains(out, "from stdin") || !strings.Contains(out, "hello") {
		t.Fatalf("receive: %s", out)
	}
	if code, out, _ := run("", "dlq", "purge", "work"); code != 0 || !strings.Contains(out, "Purged 0") {
		t.Fatalf("dlq purge: %s", out)
	}
	if code, _, errOut := run("", "send", "missing", "--body", "x"); code == 0 || !strings.Contains(errOut, "could not be found") {
		t.Fatalf("send to a missing queue: %d %s", code, errOut)
	}
	if code, _, _ := run("", "frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand exit %d", code)
	}
}
