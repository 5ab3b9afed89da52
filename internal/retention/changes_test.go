package retention_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/changelog"
	"junction/internal/retention"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestChangeLogKeepsWhatReadersNeed: with the change log kept 1h and at
// most 3h, a job whose delta watermark stands still keeps the changes after
// it past 1h; past 3h they go, the job's cursor is flagged lost (report,
// metrics), a delta link from before answers ExpiredVersionStamp, the job's
// next run exports the table in full, and the event feed flagged lost
// restarts from the head.
func TestChangeLogKeepsWhatReadersNeed(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			changeLogKeepsWhatReadersNeed(t, d)
		})
	}
}

func (b *bundle) createAccount(name string) {
	b.t.Helper()
	if status, _, body := apptest.Post(b.t, b.base+"/api/data/v9.2/accounts", "k", strings.NewReader(`{"name":"`+name+`"}`)); status != 204 {
		b.t.Fatalf("create account: %d %s", status, body)
	}
}

func (b *bundle) head() int64 {
	b.t.Helper()
	if err := changelog.Sequence(context.Background(), b.app.Store()); err != nil {
		b.t.Fatal(err)
	}
	var head int64
	if err := b.app.Store().Read(context.Background(), func(q store.Querier) error {
		var err error
		head, err = changelog.Head(context.Background(), q)
		return err
	}); err != nil {
		b.t.Fatal(err)
	}
	return head
}

func (b *bundle) cursor(name string) *changelog.Cursor {
	b.t.Helper()
	var c *changelog.Cursor
	if err := b.app.Store().Read(context.Background(), func(q store.Querier) error {
		var err error
		c, err = changelog.GetCursor(context.Background(), q, name)
		return err
	}); err != nil {
		b.t.Fatalf("cursor %s: %v", name, err)
	}
	return c
}

// runJob runs the job and returns its status and rows read.
func (b *bundle) runJob(name string) (string, int) {
	b.t.Helper()
	run := apptest.Call(b.t, "POST", b.base+"/admin/v1/jobs/"+name+"/runs", "k", map[string]any{}, http.StatusAccepted)
	runs, _ := run["value"].([]any)
	if len(runs) != 1 {
		b.t.Fatalf("no run started: %v", run)
	}
	id := int64(runs[0].(map[string]any)["id"].(float64))
	var status string
	var read int
	b.waitFor("the job run", func() bool {
		err := b.app.Store().Read(context.Background(), func(q store.Querier) error {
			return q.QueryRow(context.Background(), "SELECT status, rows_read FROM batch_runs WHERE id = ?", id).Scan(&status, &read)
		})
		return err == nil && status != "queued" && status != "running"
	})
	return status, read
}

// getAs GETs url with the admin key and the header pairs given, and returns
// the status and body.
func (b *bundle) getAs(url string, header ...string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer k")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func changeLogKeepsWhatReadersNeed(t *testing.T, d store.Dialect) {
	b := setup(t, d, func(c *app.Config) {
		c.Retention.Changes, c.Retention.ChangesMax = retention.Period(time.Hour), retention.Period(3*time.Hour)
	})
	ctx := context.Background()
	w := b.worker()
	b.createAccount("A1")
	b.createAccount("A2")
	if status, read := b.runJob("accounts-lake"); status != "succeeded" || read != 2 {
		t.Fatalf("first run: %s, %d read", status, read)
	}
	job := b.cursor("job:accounts-lake")
	for _, n := range []string{"A3", "A4", "A5"} {
		b.createAccount(n)
	}
	head := b.head()
	b.waitFor("the event feed", func() bool { return b.cursor("events").Seq == head })
	_, track := b.getAs(b.base+"/api/data/v9.2/accounts?$select=name", "Prefer", "odata.track-changes")
	var first struct {
		Link string `json:"@odata.deltaLink"`
	}
	if err := json.Unmarshal([]byte(track), &first); err != nil || first.Link == "" {
		t.Fatalf("no delta link: %s", track)
	}
	link := first.Link

	// Past 1h, only what the idle job has read goes.
	p := w.RunPass(ctx, time.Now().Add(2*time.Hour))
	if len(p.Errors) > 0 {
		t.Fatalf("pass: %v", p.Errors)
	}
	if left := b.count("SELECT COUNT(*) FROM junction_changes WHERE seq > ?", job.Seq); left != 3 {
		t.Fatalf("2h on, %d of the 3 changes the job has not read are left", left)
	}
	if b.count("SELECT COUNT(*) FROM junction_changes WHERE seq <= ?", job.Seq) != 0 || p.Deleted["change log"] == 0 {
		t.Fatalf("2h on, the changes every reader passed were kept: %v", p.Deleted)
	}
	if c := b.cursor("job:accounts-lake"); c.Lost {
		t.Fatalf("the job's cursor was flagged lost within the hard maximum: %+v", c)
	}
	if status, body := b.getAs(link); status != 200 {
		t.Fatalf("a delta link the log still covers: %d %s", status, body)
	}

	// Past 3h, the job's changes go too and it is flagged; so do those
	// after the delta link's token, which expires.
	b.createAccount("A6")
	b.createAccount("A7")
	if p := w.RunPass(ctx, time.Now().Add(4*time.Hour)); len(p.Errors) > 0 {
		t.Fatalf("pass: %v", p.Errors)
	}
	if n := b.count("SELECT COUNT(*) FROM junction_changes"); n != 1 {
		t.Fatalf("4h on, %d changes are left; only the newest is kept", n)
	}
	if c := b.cursor("job:accounts-lake"); !c.Lost {
		t.Fatalf("the job's cursor is not flagged lost: %+v", c)
	}
	rep := apptest.Call(t, "GET", b.base+"/admin/v1/storage?fresh=true", "k", nil, 200)
	consumers, _ := json.Marshal(rep["consumers"])
	if !strings.Contains(string(consumers), `"lost":true,"name":"job:accounts-lake"`) {
		t.Errorf("the report does not show the job lost: %s", consumers)
	}
	_, metrics := b.getAs(b.base + "/metrics")
	for _, want := range []string{
		`junction_changelog_consumer_lost{consumer="job:accounts-lake"} 1`,
		`junction_changelog_cursor_lost_total{consumer="job:accounts-lake"} 1`,
		`junction_retention_period_seconds{setting="changesMax"} 10800`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	status, body := b.getAs(link)
	if status != 400 || !strings.Contains(body, `"code":"0x80044352"`) || !strings.Contains(body, "Please perform a full sync.") {
		t.Fatalf("an expired delta link: %d %s", status, body)
	}
	if status, read := b.runJob("accounts-lake"); status != "succeeded" || read != 7 {
		t.Fatalf("the run after the loss: %s, %d read; want a full export of 7", status, read)
	}
	if c := b.cursor("job:accounts-lake"); c.Lost || c.Seq != b.head() {
		t.Fatalf("the job's cursor after its full export: %+v", c)
	}

	// A feed flagged lost restarts from the head.
	if err := b.app.Store().Tx(ctx, func(tx store.Tx) error { return changelog.MarkLost(ctx, tx, "events") }); err != nil {
		t.Fatal(err)
	}
	b.createAccount("A8")
	head = b.head()
	b.waitFor("the event feed to resync", func() bool { c := b.cursor("events"); return !c.Lost && c.Seq == head })
}
