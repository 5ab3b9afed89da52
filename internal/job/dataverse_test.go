package job_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// org is a Junction serving the Dataverse Web API as a real org would be
// reached: through a gateway that throttles with 429 and Retry-After, with
// OAuth2 client credentials from a token endpoint. Jobs run in the same
// Junction and reach the org only through that front door.
type org struct {
	t         testing.TB
	a         *app.App
	base      string // the Junction itself (management API)
	front     string // the org URL jobs are given
	tokenURL  string
	throttled atomic.Int32
	requests  atomic.Int32
}

func startOrg(t testing.TB, d store.Dialect, throttleEvery int32) *org {
	t.Helper()
	o := &org{t: t}
	env := map[string]string{"JUNCTION_SECRET_ORG": "app-secret"}
	o.a, o.base = apptest.Start(t, d, func(c *app.Config) {
		c.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	})
	target, _ := url.Parse(o.base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := o.requests.Add(1)
		if throttleEvery > 0 && n%throttleEvery == 0 {
			o.throttled.Add(1)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	o.front = front.URL
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != "app-id" || r.Form.Get("client_secret") != "app-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "k"})
	}))
	t.Cleanup(tokens.Close)
	o.tokenURL = tokens.URL
	return o
}

func (o *org) orgJSON() map[string]any {
	return map[string]any{"url": o.front, "tokenUrl": o.tokenURL, "clientId": "app-id", "clientSecret": "${JUNCTION_SECRET_ORG}"}
}

func (o *org) call(method, path string, body any, want int) map[string]any {
	o.t.Helper()
	return apptest.Call(o.t, method, o.base+path, "k", body, want)
}

func (o *org) text(path string) string {
	o.t.Helper()
	req, _ := http.NewRequest("GET", o.base+path, nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// run starts a run of job and waits for its end.
func (o *org) run(job string, body any) map[string]any {
	o.t.Helper()
	started := o.call("POST", "/admin/v1/jobs/"+job+"/runs", body, 202)
	runs, _ := started["value"].([]any)
	if len(runs) != 1 {
		o.t.Fatalf("start %s: %v", job, started)
	}
	id := runs[0].(map[string]any)["id"]
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r := o.call("GET", fmt.Sprintf("/admin/v1/jobs/%s/runs/%v", job, id), nil, 200)
		if s := r["status"]; s != "queued" && s != "running" {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	o.t.Fatalf("run %v of %s did not end", id, job)
	return nil
}

func counts(r map[string]any) string {
	return fmt.Sprintf("read %v, rejected %v, inserted %v, updated %v, unchanged %v, deleted %v",
		r["read"], r["rejected"], r["inserted"], r["updated"], r["unchanged"], r["deleted"])
}

// TestDataverseSink imports a CSV into an org's accounts with UpsertMultiple
// from parallel writers through a throttling gateway: lookups bound by a
// readable key, refused rows rejected, unchanged rows not written again.
func TestDataverseSink(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		for _, write := range []string{"upsert-multiple", "batch"} {
			t.Run(string(d)+"/"+write, func(t *testing.T) {
				t.Parallel()
				o := startOrg(t, d, 5)
				o.call("POST", "/api/data/v9.2/contacts", map[string]any{"firstname": "Ada", "lastname": "Lovelace", "emailaddress1": "ada@example.org"}, 204)
				data := t.TempDir()
				long := strings.Repeat("x", 200) // longer than account.name's 160
				csv := "number,name,limit,contact\nA-1,Alpha,1000,ada@example.org\nA-2,Beta,2000,\nA-3," + long + ",3000,\nA-4,Delta,4000.50,\nA-5,Epsilon,5000,\nA-6,Zeta,6000,\nA-7,Eta,7000,\n"
				os.WriteFile(filepath.Join(data, "accounts.csv"), []byte(csv), 0o644)
				spec := map[string]any{
					"source": map[string]any{"type": "file", "path": data, "pattern": "*.csv"},
					"mapping": []any{
						map[string]any{"to": "accountnumber", "from": "number", "required": true},
						map[string]any{"to": "name", "from": "name"},
						map[string]any{"to": "revenue", "from": "limit", "type": "decimal"},
						map[string]any{"to": "primarycontactid", "from": "contact", "type": "guid",
							"lookup": map[string]any{"table": "contacts", "key": "emailaddress1", "return": "contactid"}},
					},
					"key":    []string{"accountnumber"},
					"policy": map[string]any{"onError": "accept"},
					"sink":   map[string]any{"type": "dataverse", "org": o.orgJSON(), "table": "account", "write": write, "batchSize": 2, "writers": 3},
				}
				o.call("PUT", "/admin/v1/jobs/accounts-in", spec, 201)
				r := o.run("accounts-in", map[string]any{"file": "accounts.csv"})
				if r["status"] != "succeeded" || counts(r) != "read 7, rejected 1, inserted 6, updated 0, unchanged 0, deleted 0" {
					t.Fatalf("first run: %s: %s %v", r["status"], counts(r), r["error"])
				}
				rejects := o.text(fmt.Sprintf("/admin/v1/jobs/accounts-in/runs/%v/rejects", r["id"]))
				if !strings.Contains(rejects, "\n4,name,the org refused the row: A validation error occurred. The length of the 'name' attribute") {
					t.Fatalf("rejects:\n%s", rejects)
				}
				if rec, _ := r["reconciliation"].(map[string]any); rec["matched"] != true {
					t.Fatalf("reconciliation: %v", r["reconciliation"])
				}
				got := o.call("GET", "/api/data/v9.2/accounts?$select=accountnumber,name,revenue,_primarycontactid_value&$orderby=accountnumber", nil, 200)
				rows := got["value"].([]any)
				if len(rows) != 6 {
					t.Fatalf("accounts: %v", rows)
				}
				a1 := rows[0].(map[string]any)
				if a1["accountnumber"] != "A-1" || a1["_primarycontactid_value"] == nil || fmt.Sprint(a1["revenue"]) != "1000" {
					t.Fatalf("A-1: %v", a1)
				}
				if a4 := rows[2].(map[string]any); a4["accountnumber"] != "A-4" || fmt.Sprint(a4["revenue"]) != "4000.5" {
					t.Fatalf("A-4: %v", a4)
				}
				if o.throttled.Load() == 0 {
					t.Fatal("the gateway never throttled: the test proves nothing about 429")
				}
				// The same rows again with one change: one update, the rest
				// unchanged and not written.
				os.WriteFile(filepath.Join(data, "again.csv"), []byte(strings.Replace(csv, "A-2,Beta", "A-2,Beta Two", 1)), 0o644)
				r = o.run("accounts-in", map[string]any{"file": "again.csv"})
				if r["status"] != "succeeded" || counts(r) != "read 7, rejected 1, inserted 0, updated 1, unchanged 5, deleted 0" {
					t.Fatalf("second run: %s: %s %v", r["status"], counts(r), r["error"])
				}
				// Keys a URL must escape, text that looks like a number, and a
				// lookup cleared: the org gets each as meant.
				odd := "number,name,limit,contact\nA 1,Space,1,ada@example.org\nC#1,Hash,2,\n100%,Percent,3,\nO'Brien,Quote,4,\n12345,Numberish,5,\n"
				os.WriteFile(filepath.Join(data, "odd.csv"), []byte(odd), 0o644)
				r = o.run("accounts-in", map[string]any{"file": "odd.csv"})
				if r["status"] != "succeeded" || counts(r) != "read 5, rejected 0, inserted 5, updated 0, unchanged 0, deleted 0" {
					t.Fatalf("odd keys: %s: %s %v\n%s", r["status"], counts(r), r["error"], o.text(fmt.Sprintf("/admin/v1/jobs/accounts-in/runs/%v/rejects", r["id"])))
				}
				os.WriteFile(filepath.Join(data, "odd2.csv"), []byte(strings.Replace(odd, "A 1,Space,1,ada@example.org", "A 1,Space,1,", 1)), 0o644)
				r = o.run("accounts-in", map[string]any{"file": "odd2.csv"})
				if r["status"] != "succeeded" || counts(r) != "read 5, rejected 0, inserted 0, updated 1, unchanged 4, deleted 0" {
					t.Fatalf("cleared lookup: %s: %s %v", r["status"], counts(r), r["error"])
				}
				if rec, _ := r["reconciliation"].(map[string]any); rec["matched"] != true {
					t.Fatalf("cleared lookup reconciliation: %v", r["reconciliation"])
				}
				got = o.call("GET", "/api/data/v9.2/accounts?$select=accountnumber,_primarycontactid_value&$filter=accountnumber%20eq%20'A%201'", nil, 200)
				if rows := got["value"].([]any); len(rows) != 1 || rows[0].(map[string]any)["_primarycontactid_value"] != nil {
					t.Fatalf("A 1 after its contact was cleared: %v", rows)
				}
				// Under reject-all a refused row fails the run and says so.
				spec["policy"] = map[string]any{"onError": "reject-all"}
				o.call("PUT", "/admin/v1/jobs/accounts-in", spec, 200)
				os.WriteFile(filepath.Join(data, "third.csv"), []byte("number,name,limit,contact\nB-1,"+long+",1,\n"), 0o644)
				r = o.run("accounts-in", map[string]any{"file": "third.csv"})
				if r["status"] != "failed" || !strings.Contains(fmt.Sprint(r["error"]), "refused") {
					t.Fatalf("reject-all: %s %v", r["status"], r["error"])
				}
			})
		}
	}
}

// TestDataverseSource exports an org's accounts to a warehouse table in full,
// then only what changed by change tracking, deletions included.
func TestDataverseSource(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			o := startOrg(t, d, 7)
			ids := map[string]string{}
			for i := 1; i <= 12; i++ {
				n := fmt.Sprintf("N-%02d", i)
				r := o.call("POST", "/api/data/v9.2/accounts", map[string]any{"name": "Account " + n, "accountnumber": n, "numberofemployees": i * 10}, 204)
				_ = r
			}
			all := o.call("GET", "/api/data/v9.2/accounts?$select=accountnumber", nil, 200)
			for _, v := range all["value"].([]any) {
				m := v.(map[string]any)
				ids[m["accountnumber"].(string)] = m["accountid"].(string)
			}
			warehouse := filepath.Join(t.TempDir(), "w.db")
			spec := map[string]any{
				"source": map[string]any{"type": "dataverse", "org": o.orgJSON(), "table": "accounts", "delta": true,
					"select": []string{"accountid", "name", "accountnumber", "numberofemployees", "modifiedon"}},
				"key":  []string{"accountid"},
				"sink": map[string]any{"type": "sql", "driver": "sqlite", "dsn": warehouse, "table": "accounts", "deletes": "delete"},
			}
			o.call("PUT", "/admin/v1/jobs/accounts-out", spec, 201)
			r := o.run("accounts-out", nil)
			if r["status"] != "succeeded" || counts(r) != "read 12, rejected 0, inserted 12, updated 0, unchanged 0, deleted 0" {
				t.Fatalf("full run: %s: %s %v", r["status"], counts(r), r["error"])
			}
			if wm, _ := r["watermarkTo"].(string); !strings.Contains(wm, "$deltatoken=") {
				t.Fatalf("watermark %q is not a delta link", wm)
			}
			o.call("PATCH", "/api/data/v9.2/accounts("+ids["N-03"]+")", map[string]any{"name": "Renamed"}, 204)
			o.call("DELETE", "/api/data/v9.2/accounts("+ids["N-07"]+")", nil, 204)
			o.call("POST", "/api/data/v9.2/accounts", map[string]any{"name": "New", "accountnumber": "N-13"}, 204)
			r = o.run("accounts-out", nil)
			if r["status"] != "succeeded" || counts(r) != "read 3, rejected 0, inserted 1, updated 1, unchanged 0, deleted 1" {
				t.Fatalf("delta run: %s: %s %v", r["status"], counts(r), r["error"])
			}
			db, err := sql.Open("sqlite", warehouse)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			var renamed string
			db.QueryRow("SELECT COUNT(*) FROM accounts").Scan(&n)
			db.QueryRow("SELECT name FROM accounts WHERE accountnumber = 'N-03'").Scan(&renamed)
			if n != 12 || renamed != "Renamed" {
				t.Fatalf("warehouse: %d rows, N-03 named %q", n, renamed)
			}
			// Nothing changed: nothing read.
			r = o.run("accounts-out", nil)
			if r["status"] != "succeeded" || counts(r) != "read 0, rejected 0, inserted 0, updated 0, unchanged 0, deleted 0" {
				t.Fatalf("idle run: %s: %s %v", r["status"], counts(r), r["error"])
			}
			if o.throttled.Load() == 0 {
				t.Fatal("the gateway never throttled")
			}
			// Forgetting the watermark makes the next run read in full.
			o.call("DELETE", "/admin/v1/jobs/accounts-out/watermark", nil, 204)
			r = o.run("accounts-out", nil)
			if r["status"] != "succeeded" || counts(r) != "read 12, rejected 0, inserted 0, updated 0, unchanged 12, deleted 0" {
				t.Fatalf("run after the reset: %s: %s %v", r["status"], counts(r), r["error"])
			}
			// A run whose node died mid-apply, with the rows it had read gone
			// with that node, starts again rather than skip rows of a new read.
			spec2 := map[string]any{"source": spec["source"], "key": spec["key"],
				"sink": map[string]any{"type": "sql", "driver": "sqlite", "dsn": filepath.Join(t.TempDir(), "w2.db"), "table": "accounts"}}
			o.call("PUT", "/admin/v1/jobs/accounts-resume", spec2, 201)
			ctx := context.Background()
			err = o.a.Store().Tx(ctx, func(tx store.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO batch_runs (job, trigger_kind, status, phase, created_at, claimed_by, lease_until, attempt, checkpoint, rows_read, rows_inserted)
					VALUES ('accounts-resume', 'manual', 'running', 'applying', 1, 'a-node-that-died', 0, 1, 5, 12, 5)`)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var resumed map[string]any
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				runs := o.call("GET", "/admin/v1/jobs/accounts-resume/runs", nil, 200)["value"].([]any)
				if resumed = runs[0].(map[string]any); resumed["status"] != "running" {
					break
				}
			}
			if resumed["status"] != "succeeded" || counts(resumed) != "read 12, rejected 0, inserted 12, updated 0, unchanged 0, deleted 0" {
				t.Fatalf("resumed run: %s: %s %v", resumed["status"], counts(resumed), resumed["error"])
			}
			// A wrong secret fails the run with the token endpoint's words.
			bad := o.orgJSON()
			bad["clientSecret"] = "wrong"
			spec["source"].(map[string]any)["org"] = bad
			o.call("PUT", "/admin/v1/jobs/accounts-out", spec, 200)
			r = o.run("accounts-out", nil)
			if r["status"] != "failed" || !strings.Contains(fmt.Sprint(r["error"]), "Invalid client secret") {
				t.Fatalf("bad secret: %s %v", r["status"], r["error"])
			}
		})
	}
}

// TestDataverseSpecProblems: definitions a dataverse source or sink cannot
// run are refused with the field named.
func TestDataverseSpecProblems(t *testing.T) {
	t.Parallel()
	o := startOrg(t, store.SQLite, 0)
	for body, field := range map[string]string{
		`{"source":{"type":"dataverse"},"sink":{"type":"file","path":"x"}}`:                                                                        "source.table",
		`{"source":{"type":"dataverse","table":"account","org":{"url":"https://x.crm.dynamics.com"}},"sink":{"type":"file","path":"x"}}`:           "source.org",
		`{"source":{"type":"dataverse","table":"account","delta":true,"filter":"name eq 'x'"},"sink":{"type":"file","path":"x"}}`:                  "source.filter",
		`{"source":{"type":"table","table":"account"},"sink":{"type":"dataverse","table":"account"}}`:                                              "key",
		`{"source":{"type":"table","table":"account"},"key":["accountnumber"],"sink":{"type":"dataverse","table":"account","writers":53}}`:         "sink.writers",
		`{"source":{"type":"table","table":"account"},"key":["accountnumber"],"sink":{"type":"dataverse","table":"account","batchSize":5000}}`:     "sink.batchSize",
		`{"source":{"type":"table","table":"account"},"key":["accountnumber"],"sink":{"type":"dataverse","table":"account","write":"one-by-one"}}`: "sink.write",
	} {
		req, _ := http.NewRequest("PUT", o.base+"/admin/v1/jobs/bad", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), field) {
			t.Errorf("%s: %d %s, want 400 naming %s", body, resp.StatusCode, b, field)
		}
	}
	// A key that is not an alternate key of the org's table: the run fails
	// before writing and says which keys there are.
	o.call("PUT", "/admin/v1/jobs/by-name", map[string]any{
		"source":  map[string]any{"type": "table", "table": "contact"},
		"mapping": []any{map[string]any{"to": "name", "from": "lastname"}},
		"key":     []string{"name"},
		"sink":    map[string]any{"type": "dataverse", "table": "accounts"}}, 201)
	o.call("POST", "/api/data/v9.2/contacts", map[string]any{"lastname": "Hopper"}, 204)
	r := o.run("by-name", nil)
	if r["status"] != "failed" || !strings.Contains(fmt.Sprint(r["error"]), "accountnumber") {
		t.Fatalf("bad key: %s %v", r["status"], r["error"])
	}
}

// TestDataverseSinkFlags: with deletes: flag, a row deleted at the source is
// flagged in the org once, and made live again when it comes back.
func TestDataverseSinkFlags(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			o := startOrg(t, d, 0)
			src := filepath.Join(t.TempDir(), "src.db")
			db, err := sql.Open("sqlite", src)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE partners (no TEXT PRIMARY KEY, name TEXT, gone INTEGER); INSERT INTO partners VALUES ('P-1', 'One', 0), ('P-2', 'Two', 0)"); err != nil {
				t.Fatal(err)
			}
			o.call("PUT", "/admin/v1/jobs/partners", map[string]any{
				"source":  map[string]any{"type": "sql", "driver": "sqlite", "dsn": src, "query": "SELECT no, name, gone FROM partners", "deletedColumn": "gone"},
				"mapping": []any{map[string]any{"to": "accountnumber", "from": "no"}, map[string]any{"to": "name"}},
				"key":     []string{"accountnumber"},
				"sink":    map[string]any{"type": "dataverse", "table": "account", "org": o.orgJSON(), "deletes": "flag", "deletedColumn": "creditonhold"}}, 201)
			flagOf := func(no string) any {
				rows := o.call("GET", "/api/data/v9.2/accounts?$select=creditonhold&$filter=accountnumber%20eq%20'"+no+"'", nil, 200)["value"].([]any)
				if len(rows) != 1 {
					t.Fatalf("%s: %v", no, rows)
				}
				return rows[0].(map[string]any)["creditonhold"]
			}
			for i, step := range []struct {
				sql, counts string
				flag        any
			}{
				{"", "read 2, rejected 0, inserted 2, updated 0, unchanged 0, deleted 0", false},
				{"UPDATE partners SET gone = 1 WHERE no = 'P-2'", "read 2, rejected 0, inserted 0, updated 0, unchanged 1, deleted 1", true},
				{"", "read 2, rejected 0, inserted 0, updated 0, unchanged 1, deleted 0", true},
				{"UPDATE partners SET gone = 0 WHERE no = 'P-2'", "read 2, rejected 0, inserted 0, updated 1, unchanged 1, deleted 0", false},
			} {
				if step.sql != "" {
					if _, err := db.Exec(step.sql); err != nil {
						t.Fatal(err)
					}
				}
				r := o.run("partners", nil)
				if r["status"] != "succeeded" || counts(r) != step.counts {
					t.Fatalf("step %d: %s: %s %v", i, r["status"], counts(r), r["error"])
				}
				if got := flagOf("P-2"); got != step.flag {
					t.Fatalf("step %d: P-2 flagged %v, want %v", i, got, step.flag)
				}
			}
		})
	}
}

// TestDataverseSinkResumeKeepsRefusals: a run resumed after its node died
// still reports the rows the org refused in the chunks applied before.
func TestDataverseSinkResumeKeepsRefusals(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			o := startOrg(t, d, 0)
			data := t.TempDir()
			long := strings.Repeat("x", 200)
			file := filepath.Join(data, "in.csv")
			os.WriteFile(file, []byte("number,name\nR-1,One\nR-2,"+long+"\nR-3,Three\nR-4,Four\n"), 0o644)
			o.call("PUT", "/admin/v1/jobs/resume-in", map[string]any{
				"source":  map[string]any{"type": "file", "path": data, "pattern": "*.csv"},
				"mapping": []any{map[string]any{"to": "accountnumber", "from": "number"}, map[string]any{"to": "name"}},
				"key":     []string{"accountnumber"}, "policy": map[string]any{"onError": "accept"}, "chunk": 2,
				"sink": map[string]any{"type": "dataverse", "table": "account", "org": o.orgJSON()}}, 201)
			// What the attempt that died did: the first chunk (lines 2 and 3)
			// applied, line 3 refused, checkpointed.
			o.call("POST", "/api/data/v9.2/accounts", map[string]any{"accountnumber": "R-1", "name": "One"}, 204)
			ctx := context.Background()
			refused := "line,column,reason,value\n3,name,the org refused the row: too long,xxx\n"
			err := o.a.Store().Tx(ctx, func(tx store.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO batch_runs (job, trigger_kind, file, status, phase, created_at, claimed_by, lease_until, attempt, checkpoint, rows_read, rows_rejected, rows_inserted)
					VALUES ('resume-in', 'manual', ?, 'running', 'applying', 1, 'a-node-that-died', 0, 1, 2, 2, 1, 1)`, file); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "INSERT INTO batch_run_files (run_id, name, content) SELECT id, 'refused.csv', ? FROM batch_runs WHERE job = 'resume-in'", []byte(refused))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var r map[string]any
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if r = o.call("GET", "/admin/v1/jobs/resume-in/runs", nil, 200)["value"].([]any)[0].(map[string]any); r["status"] != "running" {
					break
				}
			}
			if r["status"] != "succeeded" || counts(r) != "read 4, rejected 1, inserted 3, updated 0, unchanged 0, deleted 0" {
				t.Fatalf("resumed run: %s: %s %v", r["status"], counts(r), r["error"])
			}
			if rec, _ := r["reconciliation"].(map[string]any); rec["matched"] != true {
				t.Fatalf("reconciliation: %v", r["reconciliation"])
			}
			if rejects := o.text(fmt.Sprintf("/admin/v1/jobs/resume-in/runs/%v/rejects", r["id"])); !strings.Contains(rejects, "\n3,name,the org refused the row: too long") {
				t.Fatalf("rejects:\n%s", rejects)
			}
		})
	}
}
