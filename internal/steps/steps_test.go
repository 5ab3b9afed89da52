package steps_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"junction/internal/changelog"
	"junction/internal/dataverse"
	"junction/internal/records"
	"junction/internal/steps"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// receiver is a webhook endpoint: it records what it is posted and answers
// with the statuses queued in fail first, then 200.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []posted
	fail  []int
	calls chan struct{}
}

type posted struct {
	URL    string
	Header http.Header
	RC     dataverse.RemoteExecutionContext
	Raw    map[string]any
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{fail: fail, calls: make(chan struct{}, 100)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p posted
		p.URL, p.Header = req.URL.String(), req.Header.Clone()
		if err := json.Unmarshal(body, &p.RC); err != nil {
			t.Errorf("body is not a RemoteExecutionContext: %v", err)
		}
		_ = json.Unmarshal(body, &p.Raw)
		r.mu.Lock()
		r.got = append(r.got, p)
		status := http.StatusOK
		if len(r.fail) > 0 {
			status, r.fail = r.fail[0], r.fail[1:]
		}
		r.mu.Unlock()
		r.calls <- struct{}{}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) posts() []posted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]posted(nil), r.got...)
}

type bundle struct {
	st    store.Store
	rec   *records.Service
	steps *steps.Service
	msgs  map[string]string // sdkmessage ids by name
}

func setup(t testing.TB, s store.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	if err := s.Migrate(ctx, append(changelog.Migrations(), records.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	rec := records.New(records.Config{Store: s})
	if err := rec.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	b := &bundle{st: s, rec: rec, msgs: map[string]string{}}
	b.steps = steps.New(steps.Config{Records: rec, Backoff: time.Millisecond, Poll: 10 * time.Millisecond, Retries: 3})
	rec.SetSteps(b.steps)
	for _, m := range []string{"Create", "Update", "Delete"} {
		b.msgs[m] = records.SdkMessageID(m) // seeded by Init
	}
	return b
}

// TestSteps runs the cases on one store of each driver, each case on tables
// of its own, with the asynchronous job worker running.
func TestSteps(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		if err := b.steps.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.steps.Stop(ctx) })
		for name, fn := range map[string]func(*testing.T, *bundle){
			"SyncWebhookPostsTheContext":        testSyncWebhookPostsTheContext,
			"SyncWebhookFailureWritesNothing":   testSyncWebhookFailureWritesNothing,
			"AsyncStepRetriesUntilItSucceeds":   testAsyncStepRetriesUntilItSucceeds,
			"AsyncStepFailsAfterItsRetries":     testAsyncStepFailsAfterItsRetries,
			"FilteringAttributesAndImages":      testFilteringAttributesAndImages,
			"StepRegistrationChecks":            testStepRegistrationChecks,
			"RolledBackRegistrationIsForgotten": testRolledBackRegistrationIsForgotten,
			"DeletedTablesStepsRunNoMore":       testDeletedTablesStepsRunNoMore,
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				fn(t, b)
			})
		}
	})
}

func (b *bundle) create(t testing.TB, table string, row records.Row) string {
	t.Helper()
	id, err := b.tryCreate(table, row)
	if err != nil {
		t.Fatalf("create %s: %v", table, err)
	}
	return id
}

func (b *bundle) tryCreate(table string, row records.Row) (string, error) {
	ctx := context.Background()
	tbl, _ := b.rec.Table(table)
	var id string
	err := b.st.Tx(ctx, func(tx store.Tx) error {
		r, err := b.rec.Create(ctx, tx, tbl, row, records.Caller{})
		if err == nil {
			id = r[tbl.PrimaryID()].(string)
		}
		return err
	})
	return id, err
}

func (b *bundle) update(t *testing.T, table, id string, row records.Row) error {
	ctx := context.Background()
	tbl, _ := b.rec.Table(table)
	return b.st.Tx(ctx, func(tx store.Tx) error {
		_, err := b.rec.Update(ctx, tx, tbl, id, row, "", records.Caller{})
		return err
	})
}

// webhook registers a webhook service endpoint (contract 8) as the Plugin
// Registration Tool writes it ("Register a WebHook").
func (b *bundle) webhook(t testing.TB, url string, authType int64, authValue string) string {
	return b.create(t, "serviceendpoint", records.Row{"name": "hook", "contract": int64(8), "connectionmode": int64(1),
		"url": url, "authtype": authType, "authvalue": authValue, "messageformat": int64(2), "namespaceformat": int64(2),
		"path": "", "solutionnamespace": "", "userclaim": int64(1)})
}

// step registers a step of message on table, to endpoint, as the
// sdkmessageprocessingstep table reference describes it.
func (b *bundle) step(t testing.TB, message, table, endpoint string, stage, mode int64, filtering string) string {
	filter := records.SdkMessageFilterID(message, table) // seeded by Init
	return b.create(t, "sdkmessageprocessingstep", records.Row{"name": "step " + message + " " + table, "stage": stage, "mode": mode, "rank": int64(1),
		"sdkmessageid": records.Ref{Table: "sdkmessage", ID: b.msgs[message]}, "sdkmessagefilterid": records.Ref{Table: "sdkmessagefilter", ID: filter},
		"eventhandler": records.Ref{Table: "serviceendpoint", ID: endpoint}, "filteringattributes": filtering, "supporteddeployment": int64(0)})
}

func (b *bundle) exists(t *testing.T, table, id string) bool {
	tbl, _ := b.rec.Table(table)
	var err error
	b.st.Read(context.Background(), func(q store.Querier) error { _, err = b.rec.Get(context.Background(), q, tbl, id); return nil })
	return err == nil
}

// TestSyncWebhookPostsTheContext registers a synchronous post-operation
// Create step on account with a WebhookKey, as "Use webhooks to create
// external handlers for server events" describes, and checks the post.
func testSyncWebhookPostsTheContext(t *testing.T, b *bundle) {
	{
		s := b.st
		_ = s
		r := newReceiver(t)
		b.step(t, "Create", "account", b.webhook(t, r.URL+"/hook", 4, "secret-key"), 40, 0, "")
		id := b.create(t, "account", records.Row{"name": "Contoso", "creditlimit": 5000.0, "industrycode": int64(3)})
		got := r.posts()
		if len(got) != 1 {
			t.Fatalf("%d posts", len(got))
		}
		p := got[0]
		if !strings.Contains(p.URL, "code=secret-key") || p.Header.Get("x-ms-dynamics-entity-name") != "account" || p.Header.Get("x-ms-dynamics-request-name") != "Create" {
			t.Fatalf("url %s header %v", p.URL, p.Header)
		}
		rc := p.RC
		if rc.MessageName != "Create" || rc.PrimaryEntityName != "account" || rc.PrimaryEntityID != id || rc.Stage != 40 || rc.Mode != 0 ||
			rc.OrganizationID != records.OrganizationID || rc.UserID != records.SystemUserID || rc.Depth != 1 || !strings.HasPrefix(rc.OperationCreatedOn, "/Date(") {
			t.Fatalf("context %+v", rc)
		}
		var target dataverse.SDKEntity
		if err := json.Unmarshal(rc.InputParameters[0].Value, &target); err != nil || rc.InputParameters[0].Key != "Target" {
			t.Fatal(rc.InputParameters, err)
		}
		attrs := map[string]string{}
		for _, kv := range target.Attributes {
			attrs[kv.Key] = string(kv.Value)
		}
		if target.Type != "Entity:http://schemas.microsoft.com/xrm/2011/Contracts" || target.LogicalName != "account" || attrs["name"] != `"Contoso"` ||
			attrs["industrycode"] != `{"__type":"OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts","Value":3}` ||
			attrs["creditlimit"] != `{"__type":"Money:http://schemas.microsoft.com/xrm/2011/Contracts","Value":5000}` ||
			!strings.Contains(attrs["ownerid"], `"__type":"EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts"`) {
			t.Fatalf("target %+v", attrs)
		}
		if len(rc.OutputParameters) != 1 || rc.OutputParameters[0].Key != "id" || string(rc.OutputParameters[0].Value) != `"`+id+`"` {
			t.Fatalf("output %+v", rc.OutputParameters)
		}
		// Every top-level member Dataverse writes is there.
		for _, k := range []string{"BusinessUnitId", "CorrelationId", "InitiatingUserId", "IsInTransaction", "IsolationMode", "OperationId",
			"OrganizationName", "OwningExtension", "ParentContext", "PostEntityImages", "PreEntityImages", "RequestId", "SecondaryEntityName", "SharedVariables", "UserId"} {
			if _, ok := p.Raw[k]; !ok {
				t.Errorf("%s is missing", k)
			}
		}
		// A create the Web API's way, prepared with a read before its write
		// (records.WriteCreation), runs the step too.
		ctx := context.Background()
		at, _ := b.rec.Table("account")
		var c *records.Creation
		if err := b.st.Read(ctx, func(q store.Querier) (err error) {
			c, err = b.rec.PrepareCreate(ctx, q, at, records.Row{"name": "Fabrikam"}, records.Caller{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		row, err := b.rec.WriteCreation(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.posts(); len(got) != 2 || got[1].RC.PrimaryEntityID != row["accountid"] || got[1].RC.MessageName != "Create" {
			t.Fatalf("%d posts after a prepared create", len(got))
		}
	}
}

// TestSyncWebhookFailureWritesNothing: a synchronous step whose endpoint
// fails (an error status, or nothing listening) fails the write with
// Dataverse's error, and the row is not written.
func testSyncWebhookFailureWritesNothing(t *testing.T, b *bundle) {
	{
		s := b.st
		_ = s
		r := newReceiver(t, http.StatusInternalServerError)
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		b.step(t, "Create", "contact", b.webhook(t, r.URL, 5, `<settings><setting name="x-api-key" value="k1" /></settings>`), 20, 0, "")
		b.step(t, "Delete", "contact", b.webhook(t, gone.URL, 0, ""), 40, 0, "")
		_, err := b.tryCreate("contact", records.Row{"contactid": "11111111-2222-3333-4444-555555555555", "lastname": "Lee"})
		if e := records.AsError(err); e.Code != records.CodePluginError || e.Status != http.StatusBadRequest {
			t.Fatalf("create: %v", err)
		}
		if b.exists(t, "contact", "11111111-2222-3333-4444-555555555555") {
			t.Fatal("the contact was written")
		}
		if got := r.posts(); len(got) != 1 || got[0].Header.Get("x-api-key") != "k1" || got[0].RC.Stage != 20 || len(got[0].RC.OutputParameters) != 0 {
			t.Fatalf("posts %+v", got)
		}
		// The endpoint now answers 200: the create goes through; the delete
		// step's endpoint is unreachable, so the delete fails.
		id := b.create(t, "contact", records.Row{"lastname": "Lee"})
		tbl, _ := b.rec.Table("contact")
		err = s.Tx(context.Background(), func(tx store.Tx) error { return b.rec.Delete(context.Background(), tx, tbl, id, "", records.Caller{}) })
		if records.AsError(err).Code != records.CodePluginError || !b.exists(t, "contact", id) {
			t.Fatalf("delete: %v", err)
		}
	}
}

// waitJob waits for the System Job of a step to complete and returns it.
func (b *bundle) waitJob(t *testing.T, table string) records.Row {
	t.Helper()
	jobs, _ := b.rec.Table("asyncoperation")
	ctx := context.Background()
	for i := 0; i < 2000; i++ {
		var row records.Row
		b.st.Read(ctx, func(q store.Querier) error {
			rs, err := q.Query(ctx, `SELECT `+records.SelectList(jobs, "t")+` FROM `+records.Quote(jobs.SQLName())+` t WHERE t.operationtype = 1 AND t.primaryentitytype = ?`, table)
			if err != nil {
				return err
			}
			defer rs.Close()
			if rs.Next() {
				row, err = records.ScanRow(jobs, rs)
			}
			return err
		})
		if row != nil && row["statecode"] == int64(3) {
			return row
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the System Job did not complete")
	return nil
}

// TestAsyncStepRetriesUntilItSucceeds: an asynchronous step's post is a
// System Job (asyncoperation) written with the row; the endpoint fails
// twice, and the job ends Succeeded after two retries.
func testAsyncStepRetriesUntilItSucceeds(t *testing.T, b *bundle) {
	{
		s := b.st
		_ = s
		r := newReceiver(t, http.StatusServiceUnavailable, http.StatusBadGateway)
		b.step(t, "Create", "task", b.webhook(t, r.URL, 0, ""), 40, 1, "")
		id := b.create(t, "task", records.Row{"subject": "Call Fabrikam"})
		job := b.waitJob(t, "task")
		if job["statuscode"] != int64(30) || job["retrycount"] != int64(2) || job["messagename"] != "Create" || job["primaryentitytype"] != "task" {
			t.Fatalf("job %+v", job)
		}
		got := r.posts()
		if len(got) != 3 {
			t.Fatalf("%d posts", len(got))
		}
		for _, p := range got {
			if p.RC.PrimaryEntityID != id || p.RC.Mode != 1 || p.RC.IsInTransaction || p.RC.OperationID != job["asyncoperationid"] || *p.RC.RequestID != *got[0].RC.RequestID {
				t.Fatalf("post %+v", p.RC)
			}
		}
	}
}

// TestAsyncStepFailsAfterItsRetries: an endpoint that never answers 2xx
// leaves the job Failed, with the error in its message.
func testAsyncStepFailsAfterItsRetries(t *testing.T, b *bundle) {
	{
		s := b.st
		_ = s
		r := newReceiver(t, 500, 500, 500, 500, 500, 500)
		b.step(t, "Create", "phonecall", b.webhook(t, r.URL, 0, ""), 40, 1, "")
		b.create(t, "phonecall", records.Row{"subject": "Fabrikam"})
		job := b.waitJob(t, "phonecall")
		if job["statuscode"] != int64(31) || job["retrycount"] != int64(3) || !strings.Contains(job["message"].(string), "500") || len(r.posts()) != 4 {
			t.Fatalf("job %+v, %d posts", job, len(r.posts()))
		}
	}
}

// TestFilteringAttributesAndImages: an Update step with filtering
// attributes fires only when one of them changes, and carries the pre and
// post images registered for it (sdkmessageprocessingstepimage) with their
// columns.
func testFilteringAttributesAndImages(t *testing.T, b *bundle) {
	{
		s := b.st
		_ = s
		r := newReceiver(t)
		step := b.step(t, "Update", "lead", b.webhook(t, r.URL, 0, ""), 40, 0, "telephone1, jobtitle")
		for _, im := range []records.Row{
			{"name": "pre", "entityalias": "PreImage", "imagetype": int64(0), "attributes": "lastname,telephone1", "messagepropertyname": "Target"},
			{"name": "both", "entityalias": "Full", "imagetype": int64(2), "messagepropertyname": "Target"},
		} {
			im["sdkmessageprocessingstepid"] = records.Ref{Table: "sdkmessageprocessingstep", ID: step}
			b.create(t, "sdkmessageprocessingstepimage", im)
		}
		id := b.create(t, "lead", records.Row{"lastname": "Old", "telephone1": "111"})
		if err := b.update(t, "lead", id, records.Row{"lastname": "New"}); err != nil {
			t.Fatal(err)
		}
		if n := len(r.posts()); n != 0 {
			t.Fatalf("an update of lastname fired the step %d times", n)
		}
		if err := b.update(t, "lead", id, records.Row{"telephone1": "222"}); err != nil {
			t.Fatal(err)
		}
		got := r.posts()
		if len(got) != 1 {
			t.Fatalf("%d posts", len(got))
		}
		rc := got[0].RC
		image := func(list []dataverse.KeyValue, alias string) map[string]string {
			for _, kv := range list {
				if kv.Key == alias {
					var e dataverse.SDKEntity
					json.Unmarshal(kv.Value, &e)
					out := map[string]string{}
					for _, a := range e.Attributes {
						out[a.Key] = string(a.Value)
					}
					return out
				}
			}
			return nil
		}
		pre, fullPre, fullPost := image(rc.PreEntityImages, "PreImage"), image(rc.PreEntityImages, "Full"), image(rc.PostEntityImages, "Full")
		if len(pre) != 2 || pre["lastname"] != `"New"` || pre["telephone1"] != `"111"` {
			t.Fatalf("pre image %v", pre)
		}
		if fullPre["telephone1"] != `"111"` || fullPost["telephone1"] != `"222"` || fullPost["leadid"] != `"`+id+`"` {
			t.Fatalf("images %v %v", fullPre, fullPost)
		}
		if image(rc.PostEntityImages, "PreImage") != nil {
			t.Fatal("a pre image was posted as a post image")
		}
		// A disabled step fires no more.
		if err := b.update(t, "sdkmessageprocessingstep", step, records.Row{"statecode": int64(1)}); err != nil {
			t.Fatal(err)
		}
		if err := b.update(t, "lead", id, records.Row{"telephone1": "333"}); err != nil || len(r.posts()) != 1 {
			t.Fatalf("%v, %d posts", err, len(r.posts()))
		}
	}
}

// TestStepRegistrationChecks: Dataverse takes synchronous steps on webhooks
// only, and asynchronous steps in post-operation only.
func testStepRegistrationChecks(t *testing.T, b *bundle) {
	{
		s := b.st
		_ = s
		queue := b.create(t, "serviceendpoint", records.Row{"name": "orders", "contract": int64(2), "connectionmode": int64(1), "messageformat": int64(2),
			"namespaceaddress": "sb://junction/", "path": "orders", "solutionnamespace": "junction", "userclaim": int64(1)})
		hook := b.webhook(t, "http://127.0.0.1:1/", 0, "")
		for _, c := range []struct {
			endpoint    string
			stage, mode int64
		}{{queue, 40, 0}, {hook, 20, 1}} {
			_, err := b.tryCreate("sdkmessageprocessingstep", records.Row{"name": "s", "stage": c.stage, "mode": c.mode, "rank": int64(1),
				"sdkmessageid": records.Ref{Table: "sdkmessage", ID: b.msgs["Create"]}, "eventhandler": records.Ref{Table: "serviceendpoint", ID: c.endpoint}, "supporteddeployment": int64(0)})
			if records.AsError(err).Code != records.CodeValidation {
				t.Errorf("%+v: %v", c, err)
			}
		}
		// A filter of another message, and one that takes no custom steps.
		closed := b.create(t, "sdkmessagefilter", records.Row{"sdkmessageid": records.Ref{Table: "sdkmessage", ID: b.msgs["Create"]},
			"primaryobjecttypecode": "task", "iscustomprocessingstepallowed": false})
		for _, c := range []struct{ message, filter string }{{"Update", records.SdkMessageFilterID("Create", "task")}, {"Create", closed}} {
			_, err := b.tryCreate("sdkmessageprocessingstep", records.Row{"name": "s", "stage": int64(40), "mode": int64(0), "rank": int64(1),
				"sdkmessageid": records.Ref{Table: "sdkmessage", ID: b.msgs[c.message]}, "sdkmessagefilterid": records.Ref{Table: "sdkmessagefilter", ID: c.filter},
				"eventhandler": records.Ref{Table: "serviceendpoint", ID: hook}, "supporteddeployment": int64(0)})
			if records.AsError(err).Code != records.CodeValidation {
				t.Errorf("%+v: %v", c, err)
			}
		}
	}
}

// testRolledBackRegistrationIsForgotten: a step registered in a transaction
// that rolls back runs for the writes of that transaction only.
func testRolledBackRegistrationIsForgotten(t *testing.T, b *bundle) {
	r := newReceiver(t, 500, 500)
	ctx := context.Background()
	endpoint := b.webhook(t, r.URL, 0, "")
	filter := records.SdkMessageFilterID("Create", "appointment")
	stepsTable, _ := b.rec.Table("sdkmessageprocessingstep")
	appointments, _ := b.rec.Table("appointment")
	err := b.st.Tx(ctx, func(tx store.Tx) error {
		if _, err := b.rec.Create(ctx, tx, stepsTable, records.Row{"name": "phantom", "stage": int64(40), "mode": int64(0), "rank": int64(1),
			"sdkmessageid": records.Ref{Table: "sdkmessage", ID: b.msgs["Create"]}, "sdkmessagefilterid": records.Ref{Table: "sdkmessagefilter", ID: filter},
			"eventhandler": records.Ref{Table: "serviceendpoint", ID: endpoint}, "supporteddeployment": int64(0)}, records.Caller{}); err != nil {
			return err
		}
		_, err := b.rec.Create(ctx, tx, appointments, records.Row{"subject": "in the same transaction"}, records.Caller{})
		return err
	})
	if records.AsError(err).Code != records.CodePluginError || len(r.posts()) != 1 {
		t.Fatalf("%v, %d posts", err, len(r.posts()))
	}
	b.create(t, "appointment", records.Row{"subject": "after the rollback"})
	if n := len(r.posts()); n != 1 {
		t.Fatalf("the rolled-back step ran: %d posts", n)
	}
}

// testDeletedTablesStepsRunNoMore: a custom table gets its message filters
// when defined; once it is deleted, the steps registered on it match no
// table (rather than every table, as a step without a filter does).
func testDeletedTablesStepsRunNoMore(t *testing.T, b *bundle) {
	ctx := context.Background()
	if _, err := b.rec.DefineTable(ctx, records.Table{Name: "new_gone", PrimaryName: "new_name",
		Columns: []records.Column{{Name: "new_name", Type: records.String, MaxLength: 100}}}); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t)
	b.step(t, "Create", "new_gone", b.webhook(t, r.URL, 0, ""), 40, 0, "")
	b.create(t, "new_gone", records.Row{"new_name": "before"})
	if n := len(r.posts()); n != 1 {
		t.Fatalf("%d posts before the delete", n)
	}
	if err := b.rec.DeleteTable(ctx, "new_gone"); err != nil {
		t.Fatal(err)
	}
	b.webhook(t, "http://127.0.0.1:1/", 0, "") // a registration write: the steps are read afresh
	b.create(t, "queue", records.Row{"name": "after"})
	if n := len(r.posts()); n != 1 {
		t.Fatalf("the deleted table's step ran: %d posts", n)
	}
}

// TestStepRegisteredWhileACreateIsPrepared: a step registered after a create
// was prepared (records.PrepareCreate, as the Web API prepares one before its
// write) and before it is written runs on that create, on every store, as it
// does on a create made whole in its transaction.
func TestStepRegisteredWhileACreateIsPrepared(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		r := newReceiver(t)
		ct, _ := b.rec.Table("contact")
		var c *records.Creation
		if err := store.ReadOne(ctx, s, func(q store.Querier) (err error) {
			c, err = b.rec.PrepareCreate(ctx, q, ct, records.Row{"lastname": "Prepared before the step"}, records.Caller{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b.step(t, "Create", "contact", b.webhook(t, r.URL+"/hook", 4, "key"), 40, 0, "")
		row, err := b.rec.WriteCreation(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.posts(); len(got) != 1 || got[0].RC.PrimaryEntityID != row["contactid"] {
			t.Fatalf("%d posts for a create written after its step was registered, want 1", len(got))
		}
	})
}
