package bridge_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"junction/internal/records"
	"junction/internal/store/storetest"
)

// partTable is a project table whose columns refuse values in every way a
// Junction table can: a length, a choice, a range, a lookup and a required
// column.
const partTable = `
name: part
primaryName: code
columns:
  - {name: code, type: String, maxLength: 10, required: SystemRequired}
  - {name: partnumber, type: String, maxLength: 20}
  - name: size
    type: Picklist
    options:
      - {value: 1, label: Small}
      - {value: 2, label: Large}
  - {name: weight, type: Decimal, min: 0, max: 100}
  - {name: maker, type: Lookup, targets: [account]}
keys:
  - {name: part_number, columns: [partnumber]}
`

// A value the table refuses makes its row a reject, with the column and the
// table's reason, under every policy; it never fails the run.
func TestTableRefusalsAreRejects(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			proj := t.TempDir()
			os.MkdirAll(filepath.Join(proj, "tables"), 0o755)
			os.WriteFile(filepath.Join(proj, "tables", "part.yaml"), []byte(partTable), 0o644)
			j := startProject(t, d, proj)
			maker := j.create("accounts", map[string]any{"name": "Maker"})["accountid"].(string)
			nobody := "6d1a2b3c-0000-4000-8000-00000000beef"

			in := t.TempDir()
			define := func(name, pattern string, policy map[string]any) {
				j.call("PUT", "/admin/v1/jobs/"+name, map[string]any{
					"source": map[string]any{"type": "file", "path": in, "pattern": pattern},
					"mapping": []map[string]any{
						{"to": "partnumber", "from": "Number", "required": true},
						{"to": "code", "from": "Code"},
						{"to": "size", "from": "Size"},
						{"to": "weight", "from": "Weight", "type": "decimal"},
						{"to": "maker", "from": "Maker", "type": "guid"},
					},
					"key":    []string{"partnumber"},
					"policy": policy,
					"sink":   map[string]any{"type": "table", "table": "part"},
					"chunk":  3,
				}, 201)
			}
			define("parts-strict", "strict*.csv", map[string]any{"onError": "reject-all"})
			define("parts-threshold", "threshold*.csv", map[string]any{"onError": "accept", "maxErrors": 10})
			define("parts-accept", "accept*.csv", map[string]any{"onError": "accept"})

			body := "Number,Code,Size,Weight,Maker\n" +
				"N-1,C1,1,10," + maker + "\n" +
				"N-2,much-too-long,1,1,\n" +
				"N-3,C3,3,1,\n" +
				"N-4,C4,2,101,\n" +
				"N-5,C5,2,5," + nobody + "\n" +
				"N-6,,1,1,\n" +
				"N-7,C7,2,2,\n"
			wantRejects := [][]string{
				{"3", "code", "exceeded the maximum allowed length of '10'", "much-too-long"},
				{"4", "size", "3 is not a valid value for size", "3"},
				{"5", "weight", "outside the valid range (0 to 100)", "101"},
				{"6", "maker", "Does Not Exist", nobody},
				{"7", "code", "A value for the required column code of part is missing", ""},
			}
			checkRejects := func(job string, id int64, want [][]string) {
				t.Helper()
				text := j.get("/admin/v1/jobs/" + job + "/runs/" + itoa(id) + "/rejects")
				recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
				if err != nil || len(recs) != len(want)+1 {
					t.Fatalf("%s rejects:\n%s", job, text)
				}
				for i, w := range want {
					r := recs[i+1]
					if r[0] != w[0] || r[1] != w[1] || !strings.Contains(r[2], w[2]) || r[3] != w[3] {
						t.Errorf("%s reject %d: %q, want %q", job, i+1, r, w)
					}
				}
			}
			parts := func() int {
				return len(j.call("GET", "/api/data/v9.2/parts?$select=partnumber", nil, 200)["value"].([]any))
			}

			// reject-all: the refusals are found in the validation pass and nothing is applied.
			os.WriteFile(filepath.Join(in, "strict.csv"), []byte(body), 0o644)
			run := j.runJob("parts-strict", "strict.csv")
			if run.Status != "rejected" || run.Read != 7 || run.Rejected != 5 || run.Inserted != 0 {
				t.Fatalf("reject-all run: %+v", run)
			}
			checkRejects("parts-strict", run.ID, wantRejects)
			if n := parts(); n != 0 {
				t.Fatalf("reject-all wrote %d parts", n)
			}

			// A threshold: two passes, and the apply pass skips the refused rows again.
			os.WriteFile(filepath.Join(in, "threshold.csv"), []byte(body), 0o644)
			run = j.runJob("parts-threshold", "threshold.csv")
			if run.Status != "succeeded" || run.Read != 7 || run.Rejected != 5 || run.Inserted != 2 ||
				run.Reconciliation == nil || !run.Reconciliation.Matched {
				t.Fatalf("threshold run: %+v %+v", run, run.Reconciliation)
			}
			checkRejects("parts-threshold", run.ID, wantRejects)
			if n := parts(); n != 2 {
				t.Fatalf("parts after the threshold run: %d", n)
			}

			// accept without a threshold: one pass; an update that would clear the
			// required code is refused as an update, the other row is written.
			os.WriteFile(filepath.Join(in, "accept.csv"), []byte("Number,Code,Size,Weight,Maker\nN-1,,1,10,\nN-7,C7b,2,2,\n"), 0o644)
			run = j.runJob("parts-accept", "accept.csv")
			if run.Status != "succeeded" || run.Read != 2 || run.Rejected != 1 || run.Updated != 1 || !run.Reconciliation.Matched {
				t.Fatalf("accept run: %+v %+v", run, run.Reconciliation)
			}
			checkRejects("parts-accept", run.ID, [][]string{{"2", "code", "The required column code of part cannot be cleared", ""}})
		})
	}
}

// A delta mirror with deletes: flag: a row deleted at the source stays in the
// sink with its flag set, counted as deleted; a row created again with the
// same key is live again. ignore leaves the sink row as it was; a table
// without the Boolean column fails the run before it reads a row.
func TestMirrorWithDeletesFlagged(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			proj := t.TempDir()
			os.MkdirAll(filepath.Join(proj, "tables"), 0o755)
			for name, extra := range map[string]string{"mirror": "  - {name: isdeleted, type: Boolean}\n", "plain": "", "other": "  - {name: gone, type: Boolean}\n"} {
				os.WriteFile(filepath.Join(proj, "tables", name+".yaml"), []byte("name: "+name+"\nprimaryName: name\ncolumns:\n"+
					"  - {name: name, type: String, maxLength: 160}\n  - {name: accountnumber, type: String, maxLength: 20}\n"+extra+
					"keys:\n  - {name: "+name+"_number, columns: [accountnumber]}\n"), 0o644)
			}
			j := startProject(t, d, proj)
			m1 := j.create("accounts", map[string]any{"name": "One", "accountnumber": "F-1"})
			m2 := j.create("accounts", map[string]any{"name": "Two", "accountnumber": "F-2"})
			define := func(job, table string, sink map[string]any) {
				sink["type"], sink["table"] = "table", table
				j.call("PUT", "/admin/v1/jobs/"+job, map[string]any{
					"source":  map[string]any{"type": "table", "table": "account", "delta": true},
					"mapping": []map[string]any{{"to": "accountnumber", "required": true}, {"to": "name"}},
					"key":     []string{"accountnumber"},
					"sink":    sink,
				}, 201)
			}
			define("flagged", "mirror", map[string]any{"deletes": "flag"})
			define("ignored", "other", map[string]any{})
			rows := func(set, cols string) map[string]map[string]any {
				out := j.call("GET", "/api/data/v9.2/"+set+"?$select="+cols, nil, 200)
				m := map[string]map[string]any{}
				for _, r := range out["value"].([]any) {
					row := r.(map[string]any)
					m[row["accountnumber"].(string)] = row
				}
				return m
			}
			for _, job := range []string{"flagged", "ignored"} {
				if run := j.runJob(job, ""); run.Status != "succeeded" || run.Inserted != 2 || !run.Reconciliation.Matched {
					t.Fatalf("%s, first run: %+v %+v", job, run, run.Reconciliation)
				}
			}
			if m := rows("mirrors", "accountnumber,isdeleted"); len(m) != 2 || m["F-1"]["isdeleted"] != false || m["F-2"]["isdeleted"] != false {
				t.Fatalf("mirror after the first run: %v", m)
			}

			j.call("PATCH", "/api/data/v9.2/accounts("+m1["accountid"].(string)+")", map[string]any{"name": "One Ltd"}, 204)
			j.call("DELETE", "/api/data/v9.2/accounts("+m2["accountid"].(string)+")", nil, 204)
			run := j.runJob("flagged", "")
			if run.Status != "succeeded" || run.Updated != 1 || run.Deleted != 1 || run.Inserted != 0 || !run.Reconciliation.Matched {
				t.Fatalf("flagged, delta run: %+v %+v", run, run.Reconciliation)
			}
			m := rows("mirrors", "accountnumber,name,isdeleted,versionnumber")
			if len(m) != 2 || m["F-1"]["name"] != "One Ltd" || m["F-1"]["isdeleted"] != false || m["F-2"]["name"] != "Two" ||
				m["F-2"]["isdeleted"] != true || m["F-2"]["versionnumber"] != 2.0 {
				t.Fatalf("mirror after the delta run: %v", m)
			}
			run = j.runJob("ignored", "")
			if run.Status != "succeeded" || run.Updated != 1 || run.Deleted != 0 {
				t.Fatalf("ignored, delta run: %+v", run)
			}
			if o := rows("others", "accountnumber,gone"); len(o) != 2 || o["F-2"]["gone"] != nil {
				t.Fatalf("other after the delta run: %v", o)
			}

			// The keys come back: the flagged row is live again, and a key deleted
			// and created again within one chunk is never flagged.
			j.create("accounts", map[string]any{"name": "Two again", "accountnumber": "F-2"})
			j.call("DELETE", "/api/data/v9.2/accounts("+m1["accountid"].(string)+")", nil, 204)
			j.create("accounts", map[string]any{"name": "One again", "accountnumber": "F-1"})
			run = j.runJob("flagged", "")
			if run.Status != "succeeded" || run.Read != 3 || run.Updated != 2 || run.Deleted != 0 || !run.Reconciliation.Matched {
				t.Fatalf("flagged, revival run: %+v %+v", run, run.Reconciliation)
			}
			m = rows("mirrors", "accountnumber,name,isdeleted")
			if m["F-2"]["name"] != "Two again" || m["F-2"]["isdeleted"] != false || m["F-1"]["name"] != "One again" || m["F-1"]["isdeleted"] != false {
				t.Fatalf("mirror after the revival: %v", m)
			}

			// No Boolean column to flag with: the run fails at its start.
			define("no-column", "plain", map[string]any{"deletes": "flag"})
			define("not-boolean", "mirror", map[string]any{"deletes": "flag", "deletedColumn": "name"})
			for job, want := range map[string]string{
				"no-column":   `sink.deletedColumn: table plain has no column "isdeleted"`,
				"not-boolean": "sink.deletedColumn: column name of table mirror is not a Boolean column",
			} {
				run := j.runJob(job, "")
				if run.Status != "failed" || !strings.Contains(run.Error, want) || run.Read != 0 {
					t.Fatalf("%s: %+v", job, run)
				}
			}
		})
	}
}

// Every change a job's run writes to a Junction table names the run in the
// change log (correlation id job:NAME:RUN), written by the system user.
func TestJobWritesNameTheRun(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			proj := t.TempDir()
			os.MkdirAll(filepath.Join(proj, "tables"), 0o755)
			os.WriteFile(filepath.Join(proj, "tables", "copy.yaml"), []byte(`
name: copy
primaryName: name
columns:
  - {name: name, type: String, maxLength: 160}
  - {name: accountnumber, type: String, maxLength: 20}
keys:
  - {name: copy_number, columns: [accountnumber]}
`), 0o644)
			j := startProject(t, d, proj)
			a1 := j.create("accounts", map[string]any{"name": "One", "accountnumber": "C-1"})
			a2 := j.create("accounts", map[string]any{"name": "Two", "accountnumber": "C-2"})
			j.call("PUT", "/admin/v1/jobs/copier", map[string]any{
				"source":  map[string]any{"type": "table", "table": "account", "delta": true},
				"mapping": []map[string]any{{"to": "accountnumber", "required": true}, {"to": "name"}},
				"key":     []string{"accountnumber"},
				"sink":    map[string]any{"type": "table", "table": "copy", "deletes": "delete"},
			}, 201)
			first := j.runJob("copier", "")
			j.call("PATCH", "/api/data/v9.2/accounts("+a1["accountid"].(string)+")", map[string]any{"name": "One Ltd"}, 204)
			j.call("DELETE", "/api/data/v9.2/accounts("+a2["accountid"].(string)+")", nil, 204)
			second := j.runJob("copier", "")
			if first.Status != "succeeded" || first.Inserted != 2 || second.Status != "succeeded" || second.Updated != 1 || second.Deleted != 1 {
				t.Fatalf("runs: %+v %+v", first, second)
			}

			var got []string
			for _, c := range j.call("GET", "/admin/v1/changes?table=copy", nil, 200)["value"].([]any) {
				c := c.(map[string]any)
				got = append(got, c["message"].(string)+" "+c["correlationId"].(string)+" "+c["userId"].(string))
			}
			sys := records.SystemUserID
			r1, r2 := "job:copier:"+itoa(first.ID), "job:copier:"+itoa(second.ID)
			want := []string{"Create " + r1 + " " + sys, "Create " + r1 + " " + sys, "Update " + r2 + " " + sys, "Delete " + r2 + " " + sys}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("changes of copy:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// The Web API's own writes keep their request's correlation id.
			for _, c := range j.call("GET", "/admin/v1/changes?table=account", nil, 200)["value"].([]any) {
				if id := c.(map[string]any)["correlationId"].(string); strings.HasPrefix(id, "job:") {
					t.Fatalf("a Web API change names a job run: %v", c)
				}
			}
		})
	}
}
