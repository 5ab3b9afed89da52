package httpapi

import (
	"strings"
	"testing"
	"time"
)

func FuzzParseSAS(f *testing.F) {
	f.Add(Sign("https://ns.servicebus.windows.net/orders", "RootManageSharedAccessKey", "k", time.Unix(2000000000, 0)))
	f.Add("SharedAccessSignature sr=a&sig=b&se=1&skn=c")
	f.Add("SharedAccessSignature sr=%zz&sig=&se=x")
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := parseSAS(token)
		if err != nil {
			return
		}
		if tok.rawSR == "" || tok.keyName == "" && !strings.Contains(token, "skn=") {
			t.Fatalf("accepted a token without sr or skn: %q", token)
		}
		// Scopes are lower case and never start or end with a slash.
		if tok.scope != strings.ToLower(tok.scope) || strings.HasPrefix(tok.scope, "/") || strings.HasSuffix(tok.scope, "/") {
			t.Fatalf("scope %q from %q", tok.scope, token)
		}
	})
}

func TestSignRoundTrip(t *testing.T) {
	t.Parallel()
	tok, err := parseSAS(Sign("http://localhost:8080/servicebus/Orders/subscriptions/A", "rule", "key", time.Unix(1700000000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if tok.scope != "orders/subscriptions/a" || tok.keyName != "rule" || tok.expiry != 1700000000 {
		t.Fatalf("token = %+v", tok)
	}
	if !signatureMatches(tok.rawSR, tok.resource, tok.rawSE, tok.sig, AuthRule{PrimaryKey: "key"}) {
		t.Fatal("own signature does not verify")
	}
	if signatureMatches(tok.rawSR, tok.resource, tok.rawSE, tok.sig, AuthRule{PrimaryKey: "other"}) {
		t.Fatal("signature verifies with another key")
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"/servicebus/orders/messages", "/servicebus/t/subscriptions/s/messages/head", "/servicebus/q/messages/12/abc",
		"/servicebus/q/$deadletterqueue/$receive", "/servicebus//messages"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt, ok := parseRoute(p)
		if !ok {
			return
		}
		switch rt.kind {
		case "send", "head", "message", "$receive", "$settle", "$peek", "$deferred", "$cancel", "$session":
		default:
			t.Fatalf("kind %q from %q", rt.kind, p)
		}
	})
}
