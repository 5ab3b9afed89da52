package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// queue is `junction queue send|receive|peek|dlq`: the broker from the command
// line, over the server's Service Bus REST API and management API.
func queue(ctx context.Context, args []string, io IO) int {
	usage := func() int {
		fmt.Fprint(io.Stderr, `usage:
  junction queue send ENTITY [--body TEXT | --file PATH | stdin] [--label L] [--message-id ID] [--session-id S]
                             [--content-type T] [--prop name=value ...]
  junction queue receive ENTITY [--max N] [--timeout SECONDS] [--lock]
  junction queue peek ENTITY [--top N] [--from SEQ]
  junction queue dlq list|resubmit|purge ENTITY [--seq N ...]
  junction queue connection-string [RULE]   (default RootManageSharedAccessKey; an admin key)

ENTITY is a queue, a topic (send), or TOPIC/subscriptions/SUB. receive removes
what it prints unless --lock is given (then it prints lock tokens, and the
locks expire). Flags: --url (default http://127.0.0.1:8080), --key (an API key;
default JUNCTION_KEY, then JUNCTION_ADMIN_KEY).
`)
		return exitUsage
	}
	if len(args) == 0 {
		return usage()
	}
	sub, args := args[0], args[1:]
	if sub == "dlq" {
		if len(args) == 0 {
			return usage()
		}
		sub, args = "dlq "+args[0], args[1:]
	}
	fs, c := clientFlags("queue "+sub, io)
	var body, file, label, messageID, sessionID, contentType string
	var props, seqs multiFlag
	var max, top int
	var from int64
	var timeout float64
	var lock bool
	switch sub {
	case "send":
		fs.StringVar(&body, "body", "", "the message body (default: --file, else stdin)")
		fs.StringVar(&file, "file", "", "read the body from this file")
		fs.StringVar(&label, "label", "", "the message's Label (Subject)")
		fs.StringVar(&messageID, "message-id", "", "the MessageId")
		fs.StringVar(&sessionID, "session-id", "", "the SessionId")
		fs.StringVar(&contentType, "content-type", "", "the ContentType")
		fs.Var(&props, "prop", "an application property name=value (repeatable); numbers and true/false keep their type")
	case "receive":
		fs.IntVar(&max, "max", 1, "how many messages at most")
		fs.Float64Var(&timeout, "timeout", 5, "seconds to wait for a first message")
		fs.BoolVar(&lock, "lock", false, "peek-lock and print lock tokens instead of removing")
	case "peek", "dlq list":
		fs.IntVar(&top, "top", 20, "how many messages at most")
		fs.Int64Var(&from, "from", 0, "the first sequence number")
	case "dlq resubmit":
		fs.Var(&seqs, "seq", "a sequence number to resubmit (repeatable; default all)")
	case "dlq purge", "connection-string":
	default:
		return usage()
	}
	entity := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		entity, args = args[0], args[1:]
	}
	if code, ok := fs.parse(args, io.Env, c); !ok {
		return code
	}
	if entity == "" && fs.NArg() > 0 {
		entity = fs.Arg(0)
	}
	if entity == "" && sub == "connection-string" {
		entity = "RootManageSharedAccessKey"
	}
	if entity == "" {
		return usage()
	}
	switch sub {
	case "connection-string":
		// The connection string for the Service Bus SDKs (AMQP when the
		// server listens for it), from the rule's listKeys.
		var keys struct{ PrimaryConnectionString string }
		if err := c.do(ctx, "POST", "/admin/v1/servicebus/authorizationRules/"+url.PathEscape(entity)+"/listKeys", nil, &keys); err != nil {
			return failf(io, "queue connection-string: %v", err)
		}
		fmt.Fprintln(io.Stdout, keys.PrimaryConnectionString)
	case "send":
		var data []byte
		var err error
		switch {
		case body != "":
			data = []byte(body)
		case file != "":
			data, err = os.ReadFile(file)
		default:
			data, err = io2all(io.Stdin)
		}
		if err != nil {
			return failf(io, "queue send: %v", err)
		}
		bp := map[string]string{}
		for k, v := range map[string]string{"Label": label, "MessageId": messageID, "SessionId": sessionID} {
			if v != "" {
				bp[k] = v
			}
		}
		headers := http.Header{}
		if len(bp) > 0 {
			b, _ := json.Marshal(bp)
			headers.Set("BrokerProperties", string(b))
		}
		if contentType != "" {
			headers.Set("Content-Type", contentType)
		}
		for _, p := range props {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return failf(io, "queue send: --prop %q is not name=value", p)
			}
			if _, err := strconv.ParseFloat(v, 64); err != nil && v != "true" && v != "false" {
				b, _ := json.Marshal(v)
				v = string(b)
			}
			headers.Set(k, v)
		}
		if _, _, err := c.raw(ctx, "POST", "/servicebus/"+escapeEntity(entity)+"/messages", headers, data); err != nil {
			return failf(io, "queue send: %v", err)
		}
		fmt.Fprintf(io.Stdout, "Sent %d bytes to %s\n", len(data), entity)
	case "receive":
		mode := "receiveAndDelete"
		if lock {
			mode = "peekLock"
		}
		var out struct{ Value []messageJSON }
		req := map[string]any{"mode": mode, "maxMessages": max, "timeout": timeout}
		c.hc.Timeout = time.Duration(timeout*float64(time.Second)) + 30*time.Second
		if err := c.do(ctx, "POST", "/servicebus/"+escapeEntity(entity)+"/$receive", req, &out); err != nil {
			return failf(io, "queue receive: %v", err)
		}
		printMessages(io.Stdout, out.Value, true)
		if len(out.Value) == 0 {
			fmt.Fprintln(io.Stderr, "no message")
		}
	case "peek":
		var out struct{ Value []messageJSON }
		q := url.Values{"top": {strconv.Itoa(top)}, "from": {strconv.FormatInt(from, 10)}}
		if err := c.do(ctx, "GET", "/servicebus/"+escapeEntity(entity)+"/$peek?"+q.Encode(), nil, &out); err != nil {
			return failf(io, "queue peek: %v", err)
		}
		printMessages(io.Stdout, out.Value, false)
	case "dlq list":
		var out struct{ Value []messageJSON }
		base, err := adminEntity(entity)
		if err != nil {
			return failf(io, "queue dlq: %v", err)
		}
		q := url.Values{"top": {strconv.Itoa(top)}, "from": {strconv.FormatInt(from, 10)}}
		if err := c.do(ctx, "GET", base+"/deadletters?"+q.Encode(), nil, &out); err != nil {
			return failf(io, "queue dlq list: %v", err)
		}
		printMessages(io.Stdout, out.Value, false)
	case "dlq resubmit":
		base, err := adminEntity(entity)
		if err != nil {
			return failf(io, "queue dlq: %v", err)
		}
		var nums []int64
		for _, s := range seqs {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return failf(io, "queue dlq resubmit: --seq %q is not a sequence number", s)
			}
			nums = append(nums, n)
		}
		var out struct{ Resubmitted int }
		if err := c.do(ctx, "POST", base+"/deadletters/resubmit", map[string]any{"sequenceNumbers": nums}, &out); err != nil {
			return failf(io, "queue dlq resubmit: %v", err)
		}
		fmt.Fprintf(io.Stdout, "Resubmitted %d message(s) to %s\n", out.Resubmitted, entity)
	case "dlq purge":
		base, err := adminEntity(entity)
		if err != nil {
			return failf(io, "queue dlq: %v", err)
		}
		var out struct{ Purged int }
		if err := c.do(ctx, "DELETE", base+"/deadletters", nil, &out); err != nil {
			return failf(io, "queue dlq purge: %v", err)
		}
		fmt.Fprintf(io.Stdout, "Purged %d dead-lettered message(s) of %s\n", out.Purged, entity)
	}
	return exitOK
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func io2all(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return io.ReadAll(r)
}

type messageJSON struct {
	SequenceNumber   int64          `json:"sequenceNumber"`
	MessageID        string         `json:"messageId"`
	SessionID        string         `json:"sessionId"`
	Subject          string         `json:"subject"`
	LockToken        string         `json:"lockToken"`
	DeliveryCount    int            `json:"deliveryCount"`
	EnqueuedTime     time.Time      `json:"enqueuedTime"`
	State            string         `json:"state"`
	DeadLetterReason string         `json:"deadLetterReason"`
	DeadLetterDesc   string         `json:"deadLetterErrorDescription"`
	Properties       map[string]any `json:"properties"`
	Body             *string        `json:"body"`
	BodyBase64       string         `json:"bodyBase64"`
}

func printMessages(w io.Writer, ms []messageJSON, withLock bool) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	head := "SEQ\tENQUEUED\tSTATE\tDELIVERIES\tMESSAGE-ID\tLABEL\tDEAD-LETTER REASON\tBODY"
	if withLock {
		head += "\tLOCK"
	}
	fmt.Fprintln(tw, head)
	for _, m := range ms {
		body := m.BodyBase64
		if m.Body != nil {
			body = *m.Body
		}
		if len(body) > 60 {
			body = body[:57] + "..."
		}
		body = strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(body)
		line := fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s", m.SequenceNumber, m.EnqueuedTime.Format(time.RFC3339), m.State, m.DeliveryCount,
			m.MessageID, m.Subject, m.DeadLetterReason, body)
		if withLock {
			line += "\t" + m.LockToken
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func escapeEntity(p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// adminEntity is the management URL of a queue or TOPIC/subscriptions/SUB.
func adminEntity(entity string) (string, error) {
	entity = strings.Trim(entity, "/")
	if t, s, ok := strings.Cut(entity, "/subscriptions/"); ok {
		return "/admin/v1/servicebus/topics/" + url.PathEscape(t) + "/subscriptions/" + url.PathEscape(s), nil
	}
	if entity == "" {
		return "", fmt.Errorf("an entity is required")
	}
	return "/admin/v1/servicebus/queues/" + url.PathEscape(entity), nil
}

// raw sends a request with a raw body and returns the response.
func (c *client) raw(ctx context.Context, method, path string, headers http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.url, "/")+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		msg := strings.TrimSpace(string(b))
		var e struct {
			Detail string `xml:"Detail"`
		}
		if xmlDetail(b, &e.Detail) {
			msg = e.Detail
		}
		return resp.StatusCode, b, fmt.Errorf("%s (%d)", msg, resp.StatusCode)
	}
	return resp.StatusCode, b, nil
}

func xmlDetail(b []byte, into *string) bool {
	var e struct {
		Detail string `xml:"Detail"`
	}
	if err := xml.Unmarshal(b, &e); err != nil || e.Detail == "" {
		return false
	}
	*into = e.Detail
	return true
}
