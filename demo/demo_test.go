package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"junction/internal/app"
	"junction/internal/console/browsertest"
	"junction/internal/project"
	jsftp "junction/internal/sftp"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// The demo test runs the README's steps, in its order, against an in-process
// Junction started as `junction serve --demo` is: real HTTP calls, a real SFTP
// client, files in the data folder. Each step checks what the README says the
// newcomer will see.

const adminKey = "demo-key"

type demo struct {
	t    *testing.T
	base string
	data string
	sftp string
	// warehouse is the PostgreSQL URL and schema the warehouse job writes
	// to, or empty when JUNCTION_SECRET_WAREHOUSE_DSN is not configured.
	warehouse string
}

func start(t *testing.T, d store.Dialect) *demo {
	t.Helper()
	data := t.TempDir()
	dm := &demo{t: t, data: data}
	cfg := app.Config{Listen: "127.0.0.1:0", AMQPListen: "127.0.0.1:0", Data: data, AdminKey: adminKey, Demo: true,
		Env: func(k string) (string, bool) {
			switch {
			case k == "JUNCTION_DEMO_SFTP_LISTEN":
				return "127.0.0.1:0", true
			case k == "JUNCTION_SECRET_WAREHOUSE_DSN" && dm.warehouse != "":
				return dm.warehouse, true
			}
			return "", false // JUNCTION_SECRET_PARTNER_SFTP_PASSWORD unset: the documented default applies
		}}
	if d == store.Postgres {
		cfg.Store, cfg.PostgresSchema = storetest.RequirePostgres(t), storetest.NewSchema(t)
		// The warehouse: a database of its own on the same server (a job may
		// not reach the store's database).
		dm.warehouse = storetest.NewDatabase(t)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	dm.base = "http://" + addr.String()
	for _, c := range a.Components() {
		if s, ok := c.(*jsftp.Server); ok && s.Addr() != nil {
			dm.sftp = s.Addr().String()
		}
	}
	if dm.sftp == "" {
		t.Fatal("the demo's SFTP server is not listening")
	}
	return dm
}

// call sends a request with the admin key; body is a string, a file
// ("@path") or nil. It fails the test unless the status is want.
func (d *demo) call(method, path string, body any, want int) []byte {
	d.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		if strings.HasPrefix(b, "@") {
			raw, err := os.ReadFile(b[1:])
			if err != nil {
				d.t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		} else {
			rd = strings.NewReader(b)
		}
	case nil:
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		d.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	return raw
}

func (d *demo) json(method, path string, body any, want int) map[string]any {
	d.t.Helper()
	var out map[string]any
	raw := d.call(method, path, body, want)
	if err := json.Unmarshal(raw, &out); err != nil {
		d.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
	}
	return out
}

// eventually polls check until it reports done; on timeout the test fails
// with check's last description of what it saw.
func (d *demo) eventually(what string, check func() (bool, string)) {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, seen := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: gave up; last seen: %s", what, seen)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func list(m map[string]any, k string) []any {
	v, _ := m[k].([]any)
	return v
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func dump(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

const api = "/api/data/v9.2"

func TestDemo(t *testing.T) {
	t.Parallel()
	for _, drv := range storetest.Drivers {
		t.Run(string(drv), func(t *testing.T) {
			t.Parallel()
			d := start(t, drv)
			d.sampleAccounts()
			ticket, caseID := d.synchronous()
			d.asynchronous(ticket, caseID)
			d.serviceBusSDK()
			d.publishSubscribe()
			d.batchExport()
			d.warehouseExport()
			d.priceImport()
			d.partnerFile()
			if drv == store.SQLite {
				d.consoleTour()
			}
		})
	}
}

// Step 0: the sample accounts.
func (d *demo) sampleAccounts() {
	out := d.json("POST", api+"/accounts/Microsoft.Dynamics.CRM.CreateMultiple", "@samples/accounts.json", 200)
	if ids := list(out, "Ids"); len(ids) != 4 {
		d.t.Fatalf("sample accounts: %v", out)
	}
}

// Step 1: the custom action answers with the new Case's ticket number.
func (d *demo) synchronous() (ticket, id string) {
	out := d.json("POST", api+"/new_CreateCase",
		`{"Title":"Printer on fire","Description":"Smoke from tray 2","Priority":1,"CustomerEmail":"pat@example.com","CustomerName":"Pat Jones"}`, 200)
	ticket, _ = out["TicketNumber"].(string)
	id, _ = out["IncidentId"].(string)
	if !regexp.MustCompile(`^CAS-\d{5}-[A-Z0-9]{6}$`).MatchString(ticket) || id == "" {
		d.t.Fatalf("new_CreateCase: %v", out)
	}
	row := d.json("GET", api+"/incidents("+id+")?$select=ticketnumber,title", nil, 200)
	if row["ticketnumber"] != ticket || row["title"] != "Printer on fire" {
		d.t.Fatalf("the case: %v", row)
	}
	return ticket, id
}

// runs lists a workflow's runs with their details.
func (d *demo) runs(workflow string) []map[string]any {
	var out []map[string]any
	for _, r := range list(d.json("GET", "/admin/v1/workflows/"+workflow+"/runs", nil, 200), "value") {
		name, _ := obj(r)["name"].(string)
		out = append(out, d.json("GET", "/admin/v1/workflows/"+workflow+"/runs/"+name, nil, 200))
	}
	return out
}

func runStatus(r map[string]any) string {
	s, _ := obj(r["properties"])["status"].(string)
	if s == "" {
		s, _ = r["status"].(string)
	}
	return s
}

// Step 2: a Case update reaches the queue, the consumer completes it; a
// poison message is dead-lettered with its reason.
func (d *demo) asynchronous(ticket, caseID string) {
	d.call("PATCH", api+"/incidents("+caseID+")", `{"statuscode":4,"description":"Engineer on site"}`, 204)
	d.eventually("the consumer processes the case update", func() (bool, string) {
		runs := d.runs("case-update-consumer")
		for _, r := range runs {
			if runStatus(r) == "Succeeded" && strings.Contains(dump(r), `"processed":"`+ticket+`"`) {
				return true, ""
			}
		}
		return false, dump(runs)
	})
	d.eventually("the case-updates queue is empty", func() (bool, string) {
		q := d.json("GET", "/admin/v1/servicebus/queues/case-updates", nil, 200)
		c := obj(obj(q["properties"])["countDetails"])
		return c["activeMessageCount"] == 0.0 && c["deadLetterMessageCount"] == 0.0, dump(q)
	})

	d.call("POST", "/servicebus/case-updates/messages",
		`{"type":"Junction.Records.Update","data":{"table":"incident","after":{"ticketnumber":"CAS-99999-LEGACY","statuscode":42}}}`, 201)
	d.eventually("the poison message is dead-lettered", func() (bool, string) {
		dl := d.json("GET", "/admin/v1/servicebus/queues/case-updates/deadletters", nil, 200)
		s := dump(dl)
		return len(list(dl, "value")) == 1 && strings.Contains(s, "InvalidStatus") && strings.Contains(s, "status 42 is not a Case status"), s
	})
	q := d.json("GET", "/admin/v1/servicebus/queues/case-updates", nil, 200)
	if c := obj(obj(q["properties"])["countDetails"]); c["activeMessageCount"] != 0.0 {
		d.t.Fatalf("case-updates after the poison message: %v", c)
	}
}

// Step 2, its end: demo/sdk/send-receive.mjs, an application written with
// @azure/service-bus, sends and receives on the orders queue through the
// connection string Junction hands out.
func (d *demo) serviceBusSDK() {
	dir, _ := filepath.Abs("sdk")
	_, errNode := exec.LookPath("node")
	_, errMod := os.Stat(filepath.Join(dir, "node_modules", "@azure", "service-bus"))
	if errNode != nil || errMod != nil {
		if os.Getenv("CI") == "true" {
			d.t.Fatal("node or @azure/service-bus is missing; run scripts/deps/amqp.sh")
		}
		d.t.Log("SKIPPING the JavaScript SDK step: node or @azure/service-bus is missing; run scripts/deps/amqp.sh")
		return
	}
	keys := d.json("POST", "/admin/v1/servicebus/authorizationRules/RootManageSharedAccessKey/listKeys", nil, 200)
	cs, _ := keys["primaryConnectionString"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "send-receive.mjs"), "orders")
	cmd.Env = append(os.Environ(), "SERVICEBUS_CONNECTION_STRING="+cs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("send-receive.mjs: %v\n%s", err, out)
	}
	for _, want := range []string{"sent 3 orders to orders", `received order-1 (sequence `, `{"order":1,"item":"printer toner","quantity":4}`,
		"received order-2", "received order-3", "completed all 3"} {
		if !strings.Contains(string(out), want) {
			d.t.Fatalf("send-receive.mjs printed no %q:\n%s", want, out)
		}
	}
	q := d.json("GET", "/admin/v1/servicebus/queues/orders", nil, 200)
	if c := obj(obj(q["properties"])["countDetails"]); c["activeMessageCount"] != 0.0 || c["deadLetterMessageCount"] != 0.0 {
		d.t.Fatalf("orders after the SDK completed its messages: %v", c)
	}
}

// Step 3: two account updates fan out to the webhook and the queue; only the
// key account reaches the workflow.
func (d *demo) publishSubscribe() {
	d.call("PUT", "/admin/v1/eventgrid/topics/records/eventSubscriptions/account-webhook", fmt.Sprintf(`{"properties":{
		"destination":{"endpointType":"WebHook","properties":{"endpointUrl":"%s/api/hooks/account-changes"}},
		"filter":{"includedEventTypes":["Junction.Records.Update"],"subjectBeginsWith":"/tables/account/"}}}`, d.base), 201)
	d.eventually("the webhook subscription is validated", func() (bool, string) {
		s := d.json("GET", "/admin/v1/eventgrid/topics/records/eventSubscriptions/account-webhook", nil, 200)
		return obj(s["properties"])["provisioningState"] == "Succeeded", dump(s)
	})

	// The small account first: had the filter let it through, its delivery
	// would come before the key account's.
	d.call("PATCH", api+"/accounts(accountnumber='ACC-1002')", `{"telephone1":"+33 4 00 00 00 00"}`, 204)
	d.call("PATCH", api+"/accounts(accountnumber='ACC-1001')", `{"revenue":2750000}`, 204)

	d.eventually("the webhook receives both changes", func() (bool, string) {
		inv := d.json("GET", "/admin/v1/functions/account-webhook/invocations", nil, 200)
		s := dump(inv)
		return strings.Contains(s, "account changed: Fabrikam Bikes") && strings.Contains(s, "account changed: Contoso Pharmaceuticals"), s
	})
	d.eventually("the queue gets both changes", func() (bool, string) {
		m := d.json("GET", "/admin/v1/servicebus/queues/account-changes/messages", nil, 200)
		s := dump(m)
		return len(list(m, "value")) == 2 && strings.Contains(s, "Fabrikam Bikes") && strings.Contains(s, "Contoso Pharmaceuticals"), s
	})
	var runs []map[string]any
	d.eventually("the workflow reviews the key account", func() (bool, string) {
		runs = d.runs("key-account-review")
		for _, r := range runs {
			if runStatus(r) == "Succeeded" && strings.Contains(dump(r), "Contoso Pharmaceuticals") {
				return true, ""
			}
		}
		return false, dump(runs)
	})
	if len(runs) != 1 || strings.Contains(dump(runs), "Fabrikam") {
		d.t.Fatalf("the filtered subscription let a small account through: %s", dump(runs))
	}
}

// waitRun waits for a job's run to end.
func (d *demo) waitRun(job string, id float64) map[string]any {
	d.t.Helper()
	var run map[string]any
	d.eventually("run "+job, func() (bool, string) {
		run = d.json("GET", fmt.Sprintf("/admin/v1/jobs/%s/runs/%d", job, int64(id)), nil, 200)
		s, _ := run["status"].(string)
		return s != "queued" && s != "running", dump(run)
	})
	return run
}

func (d *demo) startRun(job string) map[string]any {
	d.t.Helper()
	out := d.json("POST", "/admin/v1/jobs/"+job+"/runs", `{}`, 202)
	var id float64
	if v := list(out, "value"); len(v) == 1 {
		id, _ = obj(v[0])["id"].(float64)
	}
	if id == 0 {
		d.t.Fatalf("start %s: %v", job, out)
	}
	return d.waitRun(job, id)
}

// exportFolders lists the warehouse's run folders, oldest first.
func (d *demo) exportFolders() []string {
	dir := filepath.Join(d.data, "files", "warehouse", "accounts")
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

func readCSVs(t *testing.T, folder string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(folder, "account", "*.csv"))
	if len(files) == 0 {
		t.Fatalf("no account/*.csv in %s", folder)
	}
	var b strings.Builder
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		b.Write(raw)
	}
	return b.String()
}

// Step 4a: the nightly export, full then delta.
func (d *demo) batchExport() {
	run := d.startRun("accounts-export")
	if run["status"] != "succeeded" {
		d.t.Fatalf("first export: %v", run)
	}
	folders := d.exportFolders()
	if len(folders) != 1 {
		d.t.Fatalf("export folders: %v", folders)
	}
	if _, err := os.Stat(filepath.Join(folders[0], "model.json")); err != nil {
		d.t.Fatal(err)
	}
	first := readCSVs(d.t, folders[0])
	for _, n := range []string{"ACC-1001", "ACC-1002", "ACC-1003", "ACC-1004"} {
		if !strings.Contains(first, n) {
			d.t.Fatalf("first export lacks %s:\n%s", n, first)
		}
	}
	// One line per account, with its latest values (Contoso's revenue was
	// changed in step 3).
	if strings.Count(first, "\n") != 4 || !strings.Contains(first, "ACC-1001,2750000") {
		d.t.Fatalf("first export:\n%s", first)
	}
	if rec := obj(run["reconciliation"]); rec["matched"] != true {
		d.t.Fatalf("first export's reconciliation: %v", rec)
	}

	d.call("PATCH", api+"/accounts(accountnumber='ACC-1003')", `{"address1_city":"Tacoma"}`, 204)
	run = d.startRun("accounts-export")
	if run["status"] != "succeeded" {
		d.t.Fatalf("delta export: %v", run)
	}
	folders = d.exportFolders()
	if len(folders) != 2 {
		d.t.Fatalf("export folders after the delta run: %v", folders)
	}
	delta := readCSVs(d.t, folders[1])
	if strings.Count(delta, "\n") != 1 || !strings.Contains(delta, "ACC-1003") || !strings.Contains(delta, "Tacoma") {
		d.t.Fatalf("delta export:\n%s", delta)
	}
}

// Step 4a, with a warehouse database: the same accounts upserted into a
// PostgreSQL table; without JUNCTION_SECRET_WAREHOUSE_DSN the run fails and says why.
func (d *demo) warehouseExport() {
	run := d.startRun("accounts-to-warehouse-db")
	if d.warehouse == "" {
		if e, _ := run["error"].(string); run["status"] != "failed" || !strings.Contains(e, "JUNCTION_SECRET_WAREHOUSE_DSN") {
			d.t.Fatalf("warehouse export without JUNCTION_SECRET_WAREHOUSE_DSN: %v", run)
		}
		return
	}
	if run["status"] != "succeeded" || run["inserted"] != 4.0 {
		d.t.Fatalf("warehouse export: %v", run)
	}
	conn, err := pgx.Connect(context.Background(), d.warehouse)
	if err != nil {
		d.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	var city string
	if err := conn.QueryRow(context.Background(), `SELECT count(*), max(CASE WHEN accountnumber = 'ACC-1003' THEN address1_city END) FROM accounts`).Scan(&n, &city); err != nil {
		d.t.Fatal(err)
	}
	if n != 4 || city != "Tacoma" {
		d.t.Fatalf("warehouse table: %d rows, ACC-1003 in %q", n, city)
	}
}

// fileRun waits for the run of job that read file, and for its end.
func (d *demo) fileRun(job, file string) map[string]any {
	d.t.Helper()
	var id float64
	d.eventually(job+" picks up "+file, func() (bool, string) {
		out := d.json("GET", "/admin/v1/jobs/"+job+"/runs", nil, 200)
		for _, r := range list(out, "value") {
			if f, _ := obj(r)["file"].(string); strings.HasSuffix(f, file) {
				id, _ = obj(r)["id"].(float64)
				return true, ""
			}
		}
		return false, dump(out)
	})
	return d.waitRun(job, id)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (d *demo) price(product string) map[string]any {
	out := d.json("GET", api+"/new_pricelistitems?$select=new_name,new_price,new_currency&$filter="+
		url.QueryEscape("new_productnumber eq '"+product+"'"), nil, 200)
	if v := list(out, "value"); len(v) == 1 {
		return obj(v[0])
	}
	return nil
}

// Step 4b: the price list import: good rows upserted, bad rows in the
// rejects file; a second file updates one price and adds one product.
func (d *demo) priceImport() {
	copyFile(d.t, "samples/prices.csv", filepath.Join(d.data, "files", "prices", "prices.csv"))
	run := d.fileRun("price-import", "prices.csv")
	if run["status"] != "succeeded" || run["inserted"] != 4.0 || run["rejected"] != 2.0 {
		d.t.Fatalf("price import: %v", run)
	}
	rejects := string(d.call("GET", fmt.Sprintf("/admin/v1/jobs/price-import/runs/%d/rejects", int64(run["id"].(float64))), nil, 200))
	// P-102 (line 4) has no price, P-104 (line 6) the price "twelve".
	if !strings.HasPrefix(rejects, "line,column,reason,value") || !regexp.MustCompile(`(?m)^4,new_price,a value is required`).MatchString(rejects) ||
		!regexp.MustCompile(`(?m)^6,new_price,.*not a decimal number.*,twelve$`).MatchString(rejects) || strings.Count(strings.TrimSpace(rejects), "\n") != 2 {
		d.t.Fatalf("rejects:\n%s", rejects)
	}
	d.eventually("the price list is archived", func() (bool, string) {
		_, err := os.Stat(filepath.Join(d.data, "files", "prices", "archive", "prices.csv"))
		return err == nil, fmt.Sprint(err)
	})
	if p := d.price("P-100"); p == nil || p["new_price"] != 499.0 {
		d.t.Fatalf("P-100 after the import: %v", p)
	}
	if p := d.price("P-104"); p != nil {
		d.t.Fatalf("the rejected row P-104 was imported: %v", p)
	}

	copyFile(d.t, "samples/prices-update.csv", filepath.Join(d.data, "files", "prices", "prices-update.csv"))
	run = d.fileRun("price-import", "prices-update.csv")
	if run["status"] != "succeeded" || run["inserted"] != 1.0 || run["updated"] != 1.0 || run["rejected"] != 0.0 {
		d.t.Fatalf("price update: %v", run)
	}
	if p := d.price("P-100"); p == nil || p["new_price"] != 449.0 {
		d.t.Fatalf("P-100 after the update: %v", p)
	}
}

// Step 5: the partner uploads contacts over SFTP; they are imported and the
// file archived.
func (d *demo) partnerFile() {
	conn, err := ssh.Dial("tcp", d.sftp, &ssh.ClientConfig{User: "partner", Auth: []ssh.AuthMethod{ssh.Password("partner-demo")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		d.t.Fatal(err)
	}
	defer conn.Close()
	c, err := sftp.NewClient(conn)
	if err != nil {
		d.t.Fatal(err)
	}
	defer c.Close()
	if err := c.MkdirAll("/contacts"); err != nil {
		d.t.Fatal(err)
	}
	raw, err := os.ReadFile("samples/contacts.csv")
	if err != nil {
		d.t.Fatal(err)
	}
	f, err := c.Create("/contacts/contacts.csv.part")
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := f.Write(raw); err != nil {
		d.t.Fatal(err)
	}
	f.Close()
	if err := c.Rename("/contacts/contacts.csv.part", "/contacts/contacts.csv"); err != nil {
		d.t.Fatal(err)
	}

	run := d.fileRun("partner-contacts", "contacts.csv")
	if run["status"] != "succeeded" || run["inserted"] != 3.0 || run["rejected"] != 0.0 {
		d.t.Fatalf("contacts import: %v", run)
	}
	out := d.json("GET", api+"/contacts?$select=fullname,emailaddress1,jobtitle&$filter="+
		url.QueryEscape("endswith(emailaddress1,'@partner.example')"), nil, 200)
	if v := list(out, "value"); len(v) != 3 || !strings.Contains(dump(v), `"fullname":"Chloé Martin"`) {
		d.t.Fatalf("imported contacts: %v", out)
	}
	d.eventually("the file is archived", func() (bool, string) {
		ents, _ := c.ReadDir("/contacts/archive")
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		s := strings.Join(names, " ")
		return strings.Contains(s, "contacts.csv") && strings.Contains(s, "report.json"), s
	})
	if _, err := c.Stat("/contacts/contacts.csv"); err == nil {
		d.t.Fatal("the uploaded file is still in the inbound folder")
	}
}

// TestValidate is `junction validate demo/project`: every surface's checks
// pass on the folder the README runs.
func TestValidate(t *testing.T) {
	t.Parallel()
	p, problems := project.Open(os.DirFS("project"), "project")
	if p != nil {
		problems = p.Validate(app.Validators()...)
	}
	if len(problems) > 0 {
		t.Fatalf("demo/project: %v", problems)
	}
}

// consoleTour walks every page of the console on the demo's data, at 1,440 and
// 800 pixels, and fails on what a person should never read there (see
// internal/console/testdata/e2e/tour.mjs); then it reads the integration map's
// routes and live state (map.mjs).
func (d *demo) consoleTour() {
	if !browsertest.Available(d.t) {
		return
	}
	for _, script := range []string{"tour.mjs", "map.mjs"} {
		browsertest.Run(d.t, script, "BASE="+d.base, "ADMIN_KEY="+adminKey)
	}
}
