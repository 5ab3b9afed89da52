package webapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// startOn starts a node on the PostgreSQL schema schema of dsn.
func startOn(t *testing.T, dsn, schema string) (*app.App, *bundle) {
	t.Helper()
	a, u := apptest.Start(t, store.Postgres, func(c *app.Config) { c.AdminKey, c.Store, c.PostgresSchema = adminKey, dsn, schema })
	return a, &bundle{t: t, app: a, url: u, base: u + "/api/data/v9.2/"}
}

func createAccounts(b *bundle, n int) {
	for done := 0; done < n; {
		var targets []any
		for i := 0; i < 500 && done < n; i, done = i+1, done+1 {
			targets = append(targets, map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": fmt.Sprintf("Bulk %d", done)})
		}
		b.mustStatus(b.do("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": targets}), 200)
	}
}

var bulkQuery = []any{map[string]any{"EntityName": "account", "Criteria": map[string]any{"Conditions": []any{
	map[string]any{"AttributeName": "name", "Operator": "Like", "Values": []any{map[string]any{"Value": "Bulk%", "Type": "System.String"}}}}}}}

// pollJob reads the job until done says so (bounded, so that a broken job
// fails the test rather than hanging it).
func pollJob(t *testing.T, b *bundle, job string, done func(map[string]any) bool) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := b.mustStatus(b.do("GET", "asyncoperations("+job+")?$select=statecode,statuscode,message,data,hostid", nil), 200).json(t)
		if done(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job never got there: %v", st)
		}
	}
}

func deletedSoFar(st map[string]any) float64 {
	var d struct{ Deleted float64 }
	s, _ := st["data"].(string)
	json.Unmarshal([]byte(s), &d)
	return d.Deleted
}

// TestBulkDeleteResumesOnAnotherNode stops a node in the middle of a
// BulkDelete job (its third chunk waits on a row another connection has
// locked) and starts another node on the same PostgreSQL schema: the job's
// row says how far it got, the new node takes the job over under its lease
// and finishes it, and the job's count covers both nodes' work.
func TestBulkDeleteResumesOnAnotherNode(t *testing.T) {
	t.Parallel()
	dsn := storetest.RequirePostgres(t)
	schema := storetest.NewSchema(t)
	first, b := startOn(t, dsn, schema)
	createAccounts(b, 1100)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	lock, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	// The job deletes in primary key order, 500 rows a chunk: the last row
	// is in the third chunk.
	var last string
	if err := lock.QueryRow(ctx, `SELECT accountid FROM rec_account WHERE name LIKE 'Bulk%' ORDER BY accountid DESC LIMIT 1 FOR UPDATE`).Scan(&last); err != nil {
		t.Fatal(err)
	}

	job := b.mustStatus(b.do("POST", "BulkDelete", map[string]any{"JobName": "Resume me", "QuerySet": bulkQuery}), 200).json(t)["JobId"].(string)
	mid := pollJob(t, b, job, func(st map[string]any) bool { return deletedSoFar(st) == 1000 })
	if mid["statecode"] != 2.0 || mid["statuscode"] != 20.0 || mid["hostid"] == nil {
		t.Fatalf("job under way: %v", mid)
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	lock.Rollback(ctx)

	_, b = startOn(t, dsn, schema)
	end := pollJob(t, b, job, func(st map[string]any) bool { return st["statecode"] == 3.0 })
	if end["statuscode"] != 30.0 || end["message"] != "1100 records deleted." || end["hostid"] == mid["hostid"] {
		t.Fatalf("job after the takeover: %v (before: %v)", end, mid)
	}
	if n := strings.TrimSpace(string(b.mustStatus(b.do("GET", "accounts/$count", nil), 200).body)); n != "0" {
		t.Fatalf("%s accounts left", n)
	}
}

// TestBulkDeleteAfterADeadNode leaves a job In Progress as a node that died
// leaves it (its progress in data, its lease soon to expire): a live node
// takes the job over once the lease has expired and finishes it.
func TestBulkDeleteAfterADeadNode(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		createAccounts(b, 700)
		job := b.mustStatus(b.do("POST", "BulkDelete", map[string]any{"JobName": "Orphan", "QuerySet": bulkQuery, "StartDateTime": "2100-01-01T00:00:00Z"}), 200).json(t)["JobId"].(string)
		ctx := context.Background()
		err := b.app.Store().Tx(ctx, func(tx store.Tx) error {
			data, _ := json.Marshal(map[string]any{"QuerySet": bulkQuery, "Deleted": 77})
			if _, err := tx.Exec(ctx, `UPDATE rec_asyncoperation SET statecode = 2, statuscode = 20, postponeuntil = NULL, hostid = 'dead-node', data = ? WHERE asyncoperationid = ?`,
				string(data), job); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO junction_leases (name, owner, token, expires_at) VALUES (?, 'dead-node', 1, `+tx.Dialect().NowExpr()+` + 500000)`, "bulkdelete:"+job)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		end := pollJob(t, b, job, func(st map[string]any) bool { return st["statecode"] == 3.0 })
		if end["statuscode"] != 30.0 || end["message"] != "777 records deleted." || end["hostid"] == "dead-node" {
			t.Fatalf("job %v", end)
		}
	})
}
