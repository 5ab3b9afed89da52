package steps_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// BenchmarkAccountCreates measures one account create per transaction on
// SQLite: without the steps hook, with the hook and a step registered on
// another table only (the cost every write pays), with a synchronous
// webhook step (a local receiver answering 200 at once), and with an
// asynchronous step (its System Job row; the worker is not running).
func BenchmarkAccountCreates(b *testing.B) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.Cleanup(hook.Close)
	for _, c := range []struct {
		name  string
		hook  bool
		table string
		mode  int64
	}{{"no hook", false, "", 0}, {"step on another table", true, "contact", 0}, {"sync webhook", true, "account", 0}, {"async step", true, "account", 1}} {
		b.Run(c.name, func(b *testing.B) {
			bd := setup(b, storetest.Open(b, store.SQLite))
			if c.hook {
				bd.step(b, "Create", c.table, bd.webhook(b, hook.URL, 0, ""), 40, c.mode, "")
			} else {
				bd.rec.SetSteps(nil)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bd.create(b, "account", records.Row{"name": "Contoso"})
			}
		})
	}
}
