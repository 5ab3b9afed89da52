package events

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"junction/internal/changelog"
)

// FuzzDataverseChange feeds arbitrary bodies to the RemoteExecutionContext
// reader: it must not panic, and an accepted change names its row.
func FuzzDataverseChange(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "remote-execution-context-update.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"MessageName":"Delete","PrimaryEntityName":"a","InputParameters":[{"key":"Target","value":{"__type":"EntityReference:x","Id":"1"}}]}`))
	f.Add([]byte(`{"MessageName":"Create","PrimaryEntityName":"a","PrimaryEntityId":"1","PostEntityImages":[{"key":"p","value":{"__type":"Entity:x","Attributes":[{"key":"d","value":"\/Date(-5+0100)\/"}]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		org := "org"
		if len(body) > 0 && body[0]%3 == 0 {
			org = "" // the header may be missing
		}
		c, err := DataverseChange(body, org)
		if err != nil {
			return
		}
		if c.Table == "" || c.RecordID == "" || c.Message == "" {
			t.Fatalf("accepted a change without table, id or message: %+v", c)
		}
		if c.Source == "" || c.Source == changelog.SourceJunction {
			t.Fatalf("an org's change passes for Junction's own: source %q", c.Source)
		}
	})
}

// FuzzSASToken checks arbitrary aeg-sas-token values: no panic, and nothing
// but a correctly signed token for the topic is accepted.
func FuzzSASToken(f *testing.F) {
	key := "c2VjcmV0LWtleS1mb3ItdGhlLWZ1enotdGFyZ2V0IQ=="
	good, _ := SASToken("http://h/eventgrid/topics/t/api/events", key, time.Now().Add(time.Hour))
	f.Add(good)
	f.Add("r=x&e=1%2F1%2F2099%2012%3A00%3A00%20AM&s=abc")
	f.Add("&s=")
	f.Fuzz(func(t *testing.T, tok string) {
		if !checkSAS(tok, "t", []string{key}, time.Now()) {
			return
		}
		i := strings.LastIndex(tok, "&s=")
		vals, err := url.ParseQuery(tok[:i])
		if err != nil || !resourceIsTopic(vals.Get("r"), "t") {
			t.Fatalf("accepted %q for a resource that is not the topic", tok)
		}
		if exp, ok := parseExpiry(vals.Get("e")); !ok || !time.Now().Before(exp) {
			t.Fatalf("accepted %q with an expired or unreadable expiry", tok)
		}
	})
}
