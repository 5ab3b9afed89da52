package bridge_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// Jobs with Junction tables as sink and source, through a whole Junction:
// rows written and read over the Web API, jobs defined and run over the
// management API, files on disk.

// create posts a row and returns it as the Web API represents it.
func (j *junction) create(set string, body map[string]any) map[string]any {
	j.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", j.base+"/api/data/v9.2/"+set, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "return=representation")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		j.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		j.t.Fatalf("create %s: %d %s", set, resp.StatusCode, b)
	}
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

// account returns the account with accountnumber n, or nil.
func (j *junction) account(n string) map[string]any {
	j.t.Helper()
	out := j.call("GET", "/api/data/v9.2/accounts?$filter="+url.QueryEscape("accountnumber eq '"+n+"'")+
		"&$select=name,revenue,numberofemployees,industrycode,creditonhold,_primarycontactid_value,versionnumber", nil, 200)
	rows := out["value"].([]any)
	if len(rows) == 0 {
		return nil
	}
	return rows[0].(map[string]any)
}

type runJSON struct {
	ID             int64  `json:"id"`
	Status         string `json:"status"`
	Error          string `json:"error"`
	Read           int64  `json:"read"`
	Rejected       int64  `json:"rejected"`
	Inserted       int64  `json:"inserted"`
	Updated        int64  `json:"updated"`
	Unchanged      int64  `json:"unchanged"`
	Deleted        int64  `json:"deleted"`
	WatermarkFrom  string `json:"watermarkFrom"`
	WatermarkTo    string `json:"watermarkTo"`
	Reconciliation *struct {
		Method    string   `json:"method"`
		Matched   bool     `json:"matched"`
		Different []string `json:"different"`
		Missing   []string `json:"missing"`
	} `json:"reconciliation"`
}

// runJob starts a run of job (of file, when set) and waits for its end.
func (j *junction) runJob(job, file string) runJSON {
	j.t.Helper()
	body := "{}"
	if file != "" {
		body = `{"file":"` + file + `"}`
	}
	out := j.call("POST", "/admin/v1/jobs/"+job+"/runs", body, 202)
	runs := out["value"].([]any)
	if len(runs) != 1 {
		j.t.Fatalf("runs started: %v", out)
	}
	id := int64(runs[0].(map[string]any)["id"].(float64))
	deadline := time.Now().Add(60 * time.Second)
	for {
		var run runJSON
		raw, _ := json.Marshal(j.call("GET", "/admin/v1/jobs/"+job+"/runs/"+itoa(id), nil, 200))
		json.Unmarshal(raw, &run)
		if run.Status != "queued" && run.Status != "running" {
			return run
		}
		if time.Now().After(deadline) {
			j.t.Fatalf("run %d of %s did not end: %s", id, job, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// get fetches a text resource.
func (j *junction) get(path string) string {
	j.t.Helper()
	req, _ := http.NewRequest("GET", j.base+path, nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		j.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		j.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func (j *junction) changes(table string) int {
	j.t.Helper()
	var n int
	err := j.a.Store().Read(context.Background(), func(q store.Querier) error {
		return q.QueryRow(context.Background(), "SELECT COUNT(*) FROM junction_changes WHERE table_name = ?", table).Scan(&n)
	})
	if err != nil {
		j.t.Fatal(err)
	}
	return n
}

func TestImportCSVIntoAccounts(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			alice := j.create("contacts", map[string]any{"lastname": "Liddell", "emailaddress1": "alice@x.org"})["contactid"].(string)
			bob := j.create("contacts", map[string]any{"lastname": "Builder", "emailaddress1": "Bob@X.org"})["contactid"].(string)
			j.create("accounts", map[string]any{"name": "Old name", "accountnumber": "A-2"})

			in := t.TempDir()
			j.call("PUT", "/admin/v1/jobs/accounts-in", map[string]any{
				"source": map[string]any{"type": "file", "path": in, "pattern": "*.csv"},
				"mapping": []map[string]any{
					{"to": "accountnumber", "from": "Number", "required": true},
					{"to": "name", "from": "Name", "required": true},
					{"to": "revenue", "from": "Revenue", "type": "decimal"},
					{"to": "numberofemployees", "from": "Staff", "type": "int"},
					{"to": "industrycode", "from": "Industry", "choices": map[string]int{"Accounting": 1, "Consulting": 7}},
					{"to": "creditonhold", "from": "Hold", "type": "bool"},
					{"to": "primarycontactid", "from": "Contact", "lookup": map[string]string{"table": "contact", "key": "emailaddress1", "return": "contactid"}},
				},
				"key":    []string{"accountnumber"},
				"policy": map[string]any{"onError": "accept"},
				"sink":   map[string]any{"type": "table", "table": "account"},
				"chunk":  2,
			}, 201)

			header := "Number,Name,Revenue,Staff,Industry,Hold,Contact\n"
			good := []string{
				"A-1,Alpha,1000.50,10,Accounting,no,alice@x.org\n",
				"A-2,Beta,2000,20,Consulting,yes,bob@x.org\n", // folded case finds Bob@X.org
				"A-3,Gamma,,5,,,\n",
				"A-4,Delta,12.5,7,Accounting,false,alice@x.org\n",
			}
			bad := "A-5,Epsilon,1,1,,,nobody@x.org\nA-6,Zeta,1,many,,,\n"
			os.WriteFile(filepath.Join(in, "day1.csv"), []byte(header+strings.Join(good, "")+bad), 0o644)
			run := j.runJob("accounts-in", "day1.csv")
			if run.Status != "succeeded" || run.Read != 6 || run.Rejected != 2 || run.Inserted != 3 || run.Updated != 1 || run.Unchanged != 0 {
				t.Fatalf("first run: %+v", run)
			}
			if run.Reconciliation == nil || !run.Reconciliation.Matched || run.Reconciliation.Method != "per-key" {
				t.Fatalf("reconciliation: %+v", run.Reconciliation)
			}
			rejects := j.get("/admin/v1/jobs/accounts-in/runs/" + itoa(run.ID) + "/rejects")
			want := "line,column,reason,value\n" +
				"6,primarycontactid,\"no contact row has emailaddress1 = \"\"nobody@x.org\"\"\",nobody@x.org\n" +
				"7,numberofemployees,\"\"\"many\"\" is not a whole number\",many\n"
			if rejects != want {
				t.Fatalf("rejects:\n%s\nwant:\n%s", rejects, want)
			}
			a1, a2, a3 := j.account("A-1"), j.account("A-2"), j.account("A-3")
			if a1 == nil || a1["name"] != "Alpha" || a1["revenue"] != 1000.5 || a1["numberofemployees"] != 10.0 || a1["industrycode"] != 1.0 ||
				a1["creditonhold"] != false || a1["_primarycontactid_value"] != alice || a1["versionnumber"] != 1.0 {
				t.Fatalf("A-1: %v", a1)
			}
			if a2 == nil || a2["name"] != "Beta" || a2["_primarycontactid_value"] != bob || a2["creditonhold"] != true || a2["versionnumber"] != 2.0 {
				t.Fatalf("A-2 (updated): %v", a2)
			}
			if a3 == nil || a3["revenue"] != nil || a3["_primarycontactid_value"] != nil {
				t.Fatalf("A-3: %v", a3)
			}
			if j.account("A-5") != nil || j.account("A-6") != nil {
				t.Fatal("rejected rows were written")
			}
			// 1 create before the job, 3 creates and 1 update by it.
			if n := j.changes("account"); n != 5 {
				t.Fatalf("account changes after the first run: %d", n)
			}

			// The same rows again (in another order, so another file): all unchanged, nothing written.
			os.WriteFile(filepath.Join(in, "day2.csv"), []byte(header+good[3]+good[2]+good[1]+good[0]+bad), 0o644)
			run = j.runJob("accounts-in", "day2.csv")
			if run.Status != "succeeded" || run.Inserted != 0 || run.Updated != 0 || run.Unchanged != 4 || run.Rejected != 2 {
				t.Fatalf("second run: %+v", run)
			}
			if n := j.changes("account"); n != 5 {
				t.Fatalf("account changes after the second run: %d", n)
			}
			if v := j.account("A-1")["versionnumber"]; v != 1.0 {
				t.Fatalf("A-1 version after the re-run: %v", v)
			}
			// The file is moved to archive/ once its run has ended.
			archived := filepath.Join(in, "archive", "day2.csv")
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				_, err := os.Stat(archived)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the file was not archived: %v", err)
				}
			}

			// A value the table refuses (a name longer than 160) makes its row a
			// reject; the row beside it in the chunk is written.
			os.WriteFile(filepath.Join(in, "day3.csv"), []byte(header+"A-7,Eta,1,1,,,\nA-8,"+strings.Repeat("n", 161)+",1,1,,,\n"), 0o644)
			run = j.runJob("accounts-in", "day3.csv")
			if run.Status != "succeeded" || run.Read != 2 || run.Rejected != 1 || run.Inserted != 1 {
				t.Fatalf("third run: %+v", run)
			}
			rejects = j.get("/admin/v1/jobs/accounts-in/runs/" + itoa(run.ID) + "/rejects")
			want = "line,column,reason,value\n" +
				"3,name,A validation error occurred. The length of the 'name' attribute of the 'account' entity exceeded the maximum allowed length of '160'.," +
				strings.Repeat("n", 161) + "\n"
			if rejects != want {
				t.Fatalf("third run's rejects:\n%s\nwant:\n%s", rejects, want)
			}
			if j.account("A-7") == nil || j.account("A-8") != nil {
				t.Fatal("A-7 should be written and A-8 not")
			}

			// Cases: the customer lookup is resolved by account number and the
			// ticket number is auto-numbered, as for Web API writes.
			j.call("PUT", "/admin/v1/jobs/cases-in", map[string]any{
				"source": map[string]any{"type": "file", "path": in, "pattern": "cases*.csv"},
				"mapping": []map[string]any{
					{"to": "title", "from": "Title", "required": true},
					{"to": "prioritycode", "from": "Priority", "type": "int"},
					{"to": "customerid", "from": "Account", "lookup": map[string]string{"table": "account", "key": "accountnumber", "return": "accountid"}},
				},
				"key":  []string{"title"},
				"sink": map[string]any{"type": "table", "table": "incident"},
			}, 201)
			os.WriteFile(filepath.Join(in, "cases1.csv"), []byte("Title,Priority,Account\nPrinter on fire,1,A-1\n"), 0o644)
			run = j.runJob("cases-in", "cases1.csv")
			if run.Status != "succeeded" || run.Inserted != 1 {
				t.Fatalf("cases run: %+v", run)
			}
			out := j.call("GET", "/api/data/v9.2/incidents?$select=title,ticketnumber,_customerid_value", nil, 200)
			cases := out["value"].([]any)
			if len(cases) != 1 {
				t.Fatalf("cases: %v", out)
			}
			c := cases[0].(map[string]any)
			tn, _ := c["ticketnumber"].(string)
			if !strings.HasPrefix(tn, "CAS-01001-") || c["_customerid_value"] != j.account("A-1")["accountid"] {
				t.Fatalf("case: %v", c)
			}
		})
	}
}

// csvRows reads the one CSV file under dir matching pattern, sorted.
func csvRows(t *testing.T, pattern string) []string {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	if len(files) != 1 {
		t.Fatalf("files matching %s: %v", pattern, files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	sort.Strings(lines)
	return lines
}

func TestExportAccountsFullThenDelta(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			alice := j.create("contacts", map[string]any{"lastname": "Liddell", "emailaddress1": "alice@x.org"})["contactid"].(string)
			e1 := j.create("accounts", map[string]any{"name": "One", "accountnumber": "E-1", "revenue": 100.5, "primarycontactid@odata.bind": "/contacts(" + alice + ")"})
			e2 := j.create("accounts", map[string]any{"name": "Two", "accountnumber": "E-2", "revenue": 200})
			e3 := j.create("accounts", map[string]any{"name": "Three", "accountnumber": "E-3"})
			// Updated before the first run: a full read gives the row once, as it is now.
			j.call("PATCH", "/api/data/v9.2/accounts("+e3["accountid"].(string)+")", map[string]any{"name": "Three plc"}, 204)

			lake := t.TempDir()
			j.call("PUT", "/admin/v1/jobs/accounts-lake", map[string]any{
				"source": map[string]any{"type": "table", "table": "account", "delta": true},
				"mapping": []map[string]any{
					{"to": "accountnumber", "required": true},
					{"to": "name"},
					{"to": "revenue", "type": "decimal"},
					{"to": "primarycontactid", "from": "primarycontactid.id", "type": "guid"},
				},
				"key":  []string{"accountnumber"},
				"sink": map[string]any{"type": "file", "path": lake, "format": "csv", "layout": "synapse", "name": "account", "deletes": "flag"},
			}, 201)
			run := j.runJob("accounts-lake", "")
			if run.Status != "succeeded" || run.Read != 3 || run.Inserted != 3 || run.WatermarkTo == "" || run.WatermarkTo == "0" ||
				run.Reconciliation == nil || !run.Reconciliation.Matched {
				t.Fatalf("full run: %+v %+v", run, run.Reconciliation)
			}
			folders, _ := filepath.Glob(filepath.Join(lake, "2*"))
			if len(folders) != 1 {
				t.Fatalf("folders after the full run: %v", folders)
			}
			got := csvRows(t, filepath.Join(folders[0], "account", "account_*.csv"))
			want := []string{"E-1,One,100.5," + alice + ",false", "E-2,Two,200,,false", "E-3,Three plc,,,false"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("full export:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			// Changes after the full read: an update, a delete, a create.
			j.call("PATCH", "/api/data/v9.2/accounts("+e1["accountid"].(string)+")", map[string]any{"name": "One Ltd"}, 204)
			j.call("DELETE", "/api/data/v9.2/accounts("+e2["accountid"].(string)+")", nil, 204)
			j.create("accounts", map[string]any{"name": "Four", "accountnumber": "E-4", "revenue": 4})
			run2 := j.runJob("accounts-lake", "")
			if run2.Status != "succeeded" || run2.Read != 3 || run2.Inserted != 2 || run2.Deleted != 1 || run2.WatermarkFrom != run.WatermarkTo ||
				atoi(run2.WatermarkTo) <= atoi(run.WatermarkTo) {
				t.Fatalf("delta run: %+v", run2)
			}
			folders, _ = filepath.Glob(filepath.Join(lake, "2*"))
			if len(folders) != 2 {
				t.Fatalf("folders after the delta run: %v", folders)
			}
			sort.Strings(folders)
			got = csvRows(t, filepath.Join(folders[1], "account", "account_*.csv"))
			want = []string{"E-1,One Ltd,100.5," + alice + ",false", "E-2,,,,true", "E-4,Four,4,,false"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("delta export:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// Nothing new: an empty delta keeps the watermark.
			run3 := j.runJob("accounts-lake", "")
			if run3.Status != "succeeded" || run3.Read != 0 || run3.WatermarkTo != run2.WatermarkTo {
				t.Fatalf("empty delta: %+v", run3)
			}

			// A full export without a mapping writes every column.
			full := t.TempDir()
			j.call("PUT", "/admin/v1/jobs/accounts-full", map[string]any{
				"source": map[string]any{"type": "table", "table": "account"},
				"key":    []string{"accountid"},
				"sink":   map[string]any{"type": "file", "path": full, "format": "csv"},
			}, 201)
			run = j.runJob("accounts-full", "")
			if run.Status != "succeeded" || run.Inserted != 3 || run.Reconciliation == nil || !run.Reconciliation.Matched {
				t.Fatalf("full export: %+v %+v", run, run.Reconciliation)
			}
			files, _ := filepath.Glob(filepath.Join(full, "accounts-full_*.csv"))
			if len(files) != 1 {
				t.Fatalf("files: %v", files)
			}
			f, _ := os.Open(files[0])
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil || len(recs) != 4 {
				t.Fatalf("full export CSV: %v %v", recs, err)
			}
			col := map[string]int{}
			for i, name := range recs[0] {
				col[name] = i
			}
			if !strings.HasPrefix(strings.Join(recs[0], ","), "accountid,createdon,modifiedon,versionnumber,statecode,statuscode,ownerid,name,accountnumber,") {
				t.Fatalf("header: %v", recs[0])
			}
			numbers := map[string][]string{}
			for _, r := range recs[1:] {
				numbers[r[col["accountnumber"]]] = r
			}
			if _, ok := numbers["E-2"]; ok || numbers["E-1"][col["name"]] != "One Ltd" || numbers["E-1"][col["versionnumber"]] != "2" {
				t.Fatalf("rows: %v", recs[1:])
			}
			var ref struct{ ID, LogicalName string }
			if err := json.Unmarshal([]byte(numbers["E-1"][col["primarycontactid"]]), &ref); err != nil || ref.ID != alice || ref.LogicalName != "contact" {
				t.Fatalf("lookup column: %q", numbers["E-1"][col["primarycontactid"]])
			}
		})
	}
}

// startProject starts a Junction on a project folder.
func startProject(t *testing.T, d store.Dialect, proj string) *junction {
	t.Helper()
	return startWith(t, d, func(c *app.Config) { c.Project = proj })
}

// A table mirrored into another by a delta job: creates and updates upsert,
// deletes delete, lookups pass in the change log's shape.
func TestMirrorTableIntoTable(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			proj := t.TempDir()
			os.MkdirAll(filepath.Join(proj, "tables"), 0o755)
			os.WriteFile(filepath.Join(proj, "tables", "accountcopy.yaml"), []byte(`
name: accountcopy
primaryName: name
columns:
  - {name: name, type: String, maxLength: 160}
  - {name: accountnumber, type: String, maxLength: 20}
  - {name: revenue, type: Money}
  - {name: contact, type: Lookup, targets: [contact]}
keys:
  - {name: accountcopy_number, columns: [accountnumber]}
`), 0o644)
			j := startProject(t, d, proj)
			alice := j.create("contacts", map[string]any{"lastname": "Liddell", "emailaddress1": "alice@x.org"})["contactid"].(string)
			m1 := j.create("accounts", map[string]any{"name": "One", "accountnumber": "M-1", "revenue": 10, "primarycontactid@odata.bind": "/contacts(" + alice + ")"})
			m2 := j.create("accounts", map[string]any{"name": "Two", "accountnumber": "M-2"})
			j.call("PUT", "/admin/v1/jobs/mirror", map[string]any{
				"source": map[string]any{"type": "table", "table": "account", "delta": true},
				"mapping": []map[string]any{
					{"to": "accountnumber", "required": true},
					{"to": "name"},
					{"to": "revenue", "type": "decimal"},
					{"to": "contact", "from": "primarycontactid"},
				},
				"key":  []string{"accountnumber"},
				"sink": map[string]any{"type": "table", "table": "accountcopy", "deletes": "delete"},
			}, 201)
			copies := func() map[string]map[string]any {
				out := j.call("GET", "/api/data/v9.2/accountcopies?$select=name,accountnumber,revenue,_contact_value,versionnumber", nil, 200)
				m := map[string]map[string]any{}
				for _, r := range out["value"].([]any) {
					row := r.(map[string]any)
					m[row["accountnumber"].(string)] = row
				}
				return m
			}
			run := j.runJob("mirror", "")
			if run.Status != "succeeded" || run.Inserted != 2 || run.Reconciliation == nil || !run.Reconciliation.Matched {
				t.Fatalf("first run: %+v %+v", run, run.Reconciliation)
			}
			c := copies()
			if len(c) != 2 || c["M-1"]["name"] != "One" || c["M-1"]["revenue"] != 10.0 || c["M-1"]["_contact_value"] != alice || c["M-2"]["_contact_value"] != nil {
				t.Fatalf("copies: %v", c)
			}
			j.call("PATCH", "/api/data/v9.2/accounts("+m1["accountid"].(string)+")", map[string]any{"name": "One Ltd"}, 204)
			j.call("PATCH", "/api/data/v9.2/accounts("+m1["accountid"].(string)+")", map[string]any{"telephone1": "555"}, 204) // not mapped
			j.call("DELETE", "/api/data/v9.2/accounts("+m2["accountid"].(string)+")", nil, 204)
			run = j.runJob("mirror", "")
			if run.Status != "succeeded" || run.Updated != 1 || run.Unchanged != 1 || run.Deleted != 1 || run.Inserted != 0 || !run.Reconciliation.Matched {
				t.Fatalf("delta run: %+v %+v", run, run.Reconciliation)
			}
			c = copies()
			if len(c) != 1 || c["M-1"]["name"] != "One Ltd" || c["M-1"]["versionnumber"] != 2.0 {
				t.Fatalf("copies after the delta: %v", c)
			}

			// A lookup key that two rows share stops the run with a clear error.
			j.create("contacts", map[string]any{"lastname": "A", "emailaddress1": "dup@x.org"})
			j.create("contacts", map[string]any{"lastname": "B", "emailaddress1": "DUP@x.org"})
			in := t.TempDir()
			j.call("PUT", "/admin/v1/jobs/dup", map[string]any{
				"source": map[string]any{"type": "file", "path": in},
				"mapping": []map[string]any{
					{"to": "accountnumber", "from": "n"},
					{"to": "contact", "from": "e", "lookup": map[string]string{"table": "contact", "key": "emailaddress1", "return": "contactid"}},
				},
				"key":  []string{"accountnumber"},
				"sink": map[string]any{"type": "table", "table": "accountcopy"},
			}, 201)
			os.WriteFile(filepath.Join(in, "d.csv"), []byte("n,e\nD-1,dup@X.org\n"), 0o644)
			run = j.runJob("dup", "d.csv")
			if run.Status != "failed" || !strings.Contains(run.Error, "more than one contact row has emailaddress1") {
				t.Fatalf("ambiguous lookup: %+v", run)
			}
		})
	}
}

// TestChoiceLabelsReconcile: a choice given by its label (no choices: in the
// mapping, the table turns the label into its value) reconciles as matched.
func TestChoiceLabelsReconcile(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			j := start(t, d)
			in := t.TempDir()
			j.call("PUT", "/admin/v1/jobs/labels", map[string]any{
				"source":  map[string]any{"type": "file", "path": in, "pattern": "*.csv"},
				"mapping": []map[string]any{{"to": "accountnumber", "from": "Number"}, {"to": "name", "from": "Name"}, {"to": "industrycode", "from": "Industry"}},
				"key":     []string{"accountnumber"},
				"sink":    map[string]any{"type": "table", "table": "account"},
			}, 201)
			os.WriteFile(filepath.Join(in, "a.csv"), []byte("Number,Name,Industry\nL-1,One,Consulting\nL-2,Two,accounting\n"), 0o644)
			run := j.runJob("labels", "a.csv")
			if run.Status != "succeeded" || run.Inserted != 2 || run.Reconciliation == nil || !run.Reconciliation.Matched {
				t.Fatalf("run: %+v %+v", run, run.Reconciliation)
			}
		})
	}
}
