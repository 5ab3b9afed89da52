package webapi_test

import (
	"strings"
	"testing"
)

// TestWriteToMissingReference checks the answer to a create or an update
// whose lookup points at no row: 404 with Dataverse's code and message
// naming the missing row (the one missing among several lookups, a missing
// currency too, which the write's computed columns read), and nothing
// written.
func TestWriteToMissingReference(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		contact := b.create("contacts", map[string]any{"lastname": "Present"})
		account := b.create("accounts", map[string]any{"name": "Ref kept"})
		noAccount := "0b1c2d3e-0000-4000-8000-0000000000a1"
		noContact := "0b1c2d3e-0000-4000-8000-0000000000c1"
		noCurrency := "0b1c2d3e-0000-4000-8000-0000000000e1"
		cases := []struct {
			name, method, path string
			body               map[string]any
			want               string
		}{
			{"create, the parent missing", "POST", "accounts", map[string]any{"name": "Ref refused",
				"primarycontactid@odata.bind": "/contacts(" + contact + ")", "parentaccountid@odata.bind": "/accounts(" + noAccount + ")"},
				"account With Id = " + noAccount + " Does Not Exist"},
			{"create, the contact missing", "POST", "accounts", map[string]any{"name": "Ref refused",
				"primarycontactid@odata.bind": "/contacts(" + noContact + ")", "parentaccountid@odata.bind": "/accounts(" + account + ")"},
				"contact With Id = " + noContact + " Does Not Exist"},
			{"create, the currency missing", "POST", "accounts", map[string]any{"name": "Ref refused", "revenue": 10,
				"transactioncurrencyid@odata.bind": "/transactioncurrencies(" + noCurrency + ")"},
				"transactioncurrency With Id = " + noCurrency + " Does Not Exist"},
			{"update, the parent missing", "PATCH", "accounts(" + account + ")", map[string]any{"name": "Ref refused",
				"parentaccountid@odata.bind": "/accounts(" + noAccount + ")"},
				"account With Id = " + noAccount + " Does Not Exist"},
		}
		for _, c := range cases {
			r := b.do(c.method, c.path, c.body)
			if r.status != 404 || r.errCode(t) != "0x80040217" || !strings.Contains(string(r.body), c.want) {
				t.Errorf("%s: %d %s, want 404 0x80040217 %q", c.name, r.status, r.body, c.want)
			}
		}
		r := b.mustStatus(b.do("GET", "accounts?$select=name&$filter=name eq 'Ref refused'", nil), 200)
		if v, _ := r.json(t)["value"].([]any); len(v) != 0 {
			t.Errorf("refused writes left %s", r.body)
		}
		r = b.mustStatus(b.do("GET", "accounts("+account+")?$select=name,versionnumber", nil), 200)
		if m := r.json(t); m["name"] != "Ref kept" || m["versionnumber"] != float64(1) {
			t.Errorf("a refused update changed the row: %s", r.body)
		}
	})
}
