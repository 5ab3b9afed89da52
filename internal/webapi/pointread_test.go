package webapi_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var (
	dateHeader      = regexp.MustCompile(`(?m)^Date: .*\r$`)
	requestIDHeader = regexp.MustCompile(`(?m)^X-Request-Id: [0-9a-f]{24}\r$`)
	traceHeader     = regexp.MustCompile(`(?m)^Traceresponse: 00-[0-9a-f]{32}-[0-9a-f]{16}-01\r$`)
)

// TestPointReadGolden pins the whole answer to a read by id, status line,
// headers and body byte for byte (the Date, the request id, the trace and
// span ids, row ids and the port normalized), for the reads that take
// retrieveValues' path: the benchmark's $select=name, a $select with a lookup
// and an empty value, an annotation asked for, the If-None-Match that answers
// 304 and a $select of no column.
func TestPointReadGolden(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		contact := b.create("contacts", map[string]any{"lastname": "Pinned"})
		id := b.create("accounts", map[string]any{"name": `Read "1" <&> é`, "revenue": 12.5,
			"primarycontactid@odata.bind": "/contacts(" + contact + ")"})
		var out strings.Builder
		for _, c := range []struct{ path, headers string }{
			{"accounts(" + id + ")?$select=name", ""},
			{"accounts(" + id + ")?$select=name,revenue,description,_primarycontactid_value", ""},
			{"accounts(" + id + ")?$select=name,primarycontactid", "Prefer: odata.include-annotations=\"Microsoft.Dynamics.CRM.lookuplogicalname\"\r\n"},
			{"accounts(" + id + ")?$select=name", "If-None-Match: W/\"1\"\r\n"},
			{"accounts(" + id + ")?$select=nosuchcolumn", ""},
		} {
			out.WriteString("## GET " + c.path + "\n")
			out.WriteString(rawGet(t, b, c.path, c.headers))
			out.WriteString("\n")
		}
		got := normalize(out.String())
		got = dateHeader.ReplaceAllString(got, "Date: <date>\r")
		got = requestIDHeader.ReplaceAllString(got, "X-Request-Id: <request id>\r")
		got = traceHeader.ReplaceAllString(got, "Traceresponse: 00-<trace id>-<span id>-01\r")
		golden(t, "point_read.golden", got)
	})
}

// rawGet sends a GET over a connection of its own and returns the answer's
// bytes as they came.
func rawGet(t *testing.T, b *bundle, path, headers string) string {
	t.Helper()
	host := strings.TrimPrefix(b.url, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /api/data/v9.2/" + path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + adminKey + "\r\n" + headers + "Connection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	// The answer must parse as HTTP, whatever its bytes.
	if _, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))), nil); err != nil {
		t.Fatalf("answer to %s: %v\n%s", path, err, raw)
	}
	return string(raw)
}
