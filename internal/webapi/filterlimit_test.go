package webapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFilterTooComplex: a $filter of 1,000 "or" conditions was a 500 on
// SQLite (expression depth); it is now refused as an invalid argument before
// it reaches the database, on every store, while a long In list still runs.
func TestFilterTooComplex(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		b.create("accounts", map[string]any{"name": "Contoso", "accountnumber": "A7"})
		ors := make([]string, 1000)
		values := make([]string, 3000)
		for i := range ors {
			ors[i] = fmt.Sprintf("accountnumber eq 'A%d'", i)
		}
		for i := range values {
			values[i] = fmt.Sprintf("'A%d'", i)
		}
		r := b.do("GET", "accounts?$filter="+url.QueryEscape(strings.Join(ors, " or ")), nil)
		if r.status != http.StatusBadRequest || r.errCode(t) != "0x80040203" || !strings.Contains(string(r.body), "too complex") {
			t.Fatalf("1000 ors: %d %s", r.status, r.body)
		}
		in := "Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues=[" + strings.Join(values, ",") + "])"
		r = b.mustStatus(b.do("GET", "accounts?$select=accountnumber&$filter="+url.QueryEscape(in), nil), http.StatusOK)
		if got := r.json(t)["value"].([]any); len(got) != 1 {
			t.Fatalf("In: %s", r.body)
		}
	})
}
