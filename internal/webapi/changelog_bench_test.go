package webapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"junction/internal/store"
)

// BenchmarkChangeLogBytes measures what one change of an account takes in the
// change log: the bytes of its stored columns (changed, before and after
// images), per create and per update of one column, over the Web API.
//
//	go test -run '^$' -bench ChangeLogBytes -benchtime 500x ./internal/webapi
func BenchmarkChangeLogBytes(b *testing.B) {
	eachStore(b, func(b *testing.B, bd *bundle) {
		ids := make([]string, 0, b.N)
		for i := range b.N {
			r := bd.do("POST", "accounts", map[string]any{"name": fmt.Sprintf("Bench %d", i), "revenue": 10, "accountnumber": fmt.Sprintf("B-%d", i)},
				"Prefer", "return=representation")
			if r.status != 201 {
				b.Fatalf("create: %d %s", r.status, r.body)
			}
			var rec struct{ AccountID string }
			if err := json.Unmarshal(r.body, &rec); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, rec.AccountID)
		}
		for i, id := range ids {
			if r := bd.do("PATCH", "accounts("+id+")", map[string]any{"name": fmt.Sprintf("Renamed %d", i)}); r.status != 204 {
				b.Fatalf("update: %d %s", r.status, r.body)
			}
		}
		perChange := func(message string) float64 {
			var bytes, n int64
			err := bd.app.Store().Read(context.Background(), func(q store.Querier) error {
				return q.QueryRow(context.Background(), `SELECT COALESCE(SUM(`+changeBytes+`), 0), COUNT(*) FROM junction_changes
					WHERE table_name = 'account' AND message = ?`, message).Scan(&bytes, &n)
			})
			if err != nil || n == 0 {
				b.Fatalf("measure %s: %v (%d changes)", message, err, n)
			}
			return float64(bytes) / float64(n)
		}
		b.ReportMetric(perChange("Create"), "bytes/create")
		b.ReportMetric(perChange("Update"), "bytes/update")
	})
}

// changeBytes is the stored size of one change's row data.
const changeBytes = "LENGTH(changed) + COALESCE(LENGTH(before_row), 0) + COALESCE(LENGTH(after_row), 0)"
