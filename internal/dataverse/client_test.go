package dataverse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/app/apptest"
	"junction/internal/auth"
	"junction/internal/changelog"
	"junction/internal/dataverse"
	"junction/internal/records"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/store/storetest"
	"junction/internal/webapi"
)

// tokenServer is a local OAuth2 token endpoint that issues real Junction API
// keys as access tokens, so that Junction accepts them as bearer tokens.
type tokenServer struct {
	*httptest.Server
	calls atomic.Int32
}

func newTokenServer(t *testing.T, keys *auth.Keys, scope string) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.calls.Add(1)
		r.ParseForm()
		if r.Method != http.MethodPost || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != "app-id" ||
			r.Form.Get("client_secret") != "app-secret" || r.Form.Get("scope") != scope {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		_, secret, err := keys.Create(r.Context(), "dataverse-client", server.RoleOperator)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": secret})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func startJunction(t *testing.T, d store.Dialect) (*app.App, string) {
	return apptest.Start(t, d, func(c *app.Config) { c.AdminKey = "admin" })
}

// newClient starts a Junction on d and returns a client of its Web API with
// the token server that serves it, and the organization URL.
func newClient(t *testing.T, d store.Dialect) (*dataverse.Client, *tokenServer, string) {
	t.Helper()
	a, org := startJunction(t, d)
	ts := newTokenServer(t, a.Keys(), org+"/.default")
	c, err := dataverse.New(dataverse.Config{URL: org, ClientID: "app-id", ClientSecret: "app-secret", TokenURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c, ts, org
}

func TestClientAgainstJunction(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			c, ts, _ := newClient(t, d)
			ctx := context.Background()
			if uid, err := c.WhoAmI(ctx); err != nil || uid == "" {
				t.Fatalf("WhoAmI: %q %v", uid, err)
			}
			id, err := c.Create(ctx, "accounts", dataverse.Record{"name": "Contoso", "accountnumber": "C-1"})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := c.Retrieve(ctx, "accounts", dataverse.KeyOf("accountnumber", "C-1"), url.Values{"$select": {"name"}})
			if err != nil || rec["accountid"] != id {
				t.Fatalf("retrieve by key: %v %v", rec, err)
			}
			if err := c.Update(ctx, "accounts", id, dataverse.Record{"name": "Contoso 2"}, ""); err != nil {
				t.Fatal(err)
			}
			created, err := c.Upsert(ctx, "accounts", dataverse.KeyOf("accountnumber", "O'Neil-1"), dataverse.Record{"name": "O'Neil"})
			if err != nil || !created {
				t.Fatalf("upsert create: %v %v", created, err)
			}
			created, err = c.Upsert(ctx, "accounts", dataverse.KeyOf("accountnumber", "O'Neil-1"), dataverse.Record{"name": "O'Neil 2"})
			if err != nil || created {
				t.Fatalf("upsert update: %v %v", created, err)
			}
			var recs []dataverse.Record
			for i := 0; i < 30; i++ {
				recs = append(recs, dataverse.Record{"name": "Bulk", "accountnumber": "BK-" + string(rune('A'+i))})
			}
			ids, err := c.CreateMultiple(ctx, "accounts", "account", recs)
			if err != nil || len(ids) != 30 {
				t.Fatalf("CreateMultiple: %d %v", len(ids), err)
			}
			if err := c.UpsertMultiple(ctx, "accounts", "account", []dataverse.Record{{"@odata.id": "accounts(accountnumber='BK-A')", "name": "Bulk A"}, {"@odata.id": "accounts(accountnumber='NEW')", "name": "New"}}); err != nil {
				t.Fatal(err)
			}
			// Paging: 7 per page over 33 rows.
			pages, rows := 0, 0
			err = c.Query(ctx, "accounts", url.Values{"$select": {"name"}}, 7, func(p []dataverse.Record) error { pages++; rows += len(p); return nil })
			if err != nil || pages != 5 || rows != 33 {
				t.Fatalf("paging: %d pages %d rows %v", pages, rows, err)
			}
			// Errors come back typed.
			err = c.Update(ctx, "accounts", "00000000-0000-4000-8000-000000000000", dataverse.Record{"name": "x"}, "")
			if !dataverse.IsNotFound(err) || !strings.Contains(err.Error(), "0x80040217") {
				t.Fatalf("update missing: %v", err)
			}
			// $batch with a changeset and a Content-ID reference.
			res, err := c.Batch(ctx, []dataverse.Part{
				{Changeset: []dataverse.Op{
					{Method: "POST", Path: "accounts", Body: dataverse.Record{"name": "Batch parent"}, ContentID: "1"},
					{Method: "POST", Path: "contacts", Body: dataverse.Record{"lastname": "Kid", "parentcustomerid_account@odata.bind": "$1"}, ContentID: "2"},
				}},
				{Op: &dataverse.Op{Method: "GET", Path: "contacts?$select=lastname&$expand=parentcustomerid_account($select=name)"}},
			}, false)
			if err != nil || len(res) != 3 || res[0].Status != 204 || res[2].Status != 200 || !strings.Contains(string(res[2].Body), "Batch parent") {
				t.Fatalf("batch: %+v %v", res, err)
			}
			// Change tracking.
			ch, err := c.Track(ctx, "contacts", []string{"lastname"}, "")
			if err != nil || len(ch.Changed) != 1 || ch.DeltaLink == "" {
				t.Fatalf("track: %+v %v", ch, err)
			}
			kid := ch.Changed[0]["contactid"].(string)
			if err := c.Delete(ctx, "contacts", kid); err != nil {
				t.Fatal(err)
			}
			cid, _ := c.Create(ctx, "contacts", dataverse.Record{"lastname": "New kid"})
			ch, err = c.Track(ctx, "contacts", nil, ch.DeltaLink)
			if err != nil || len(ch.Deleted) != 1 || ch.Deleted[0] != kid || len(ch.Changed) != 1 || ch.Changed[0]["contactid"] != cid {
				t.Fatalf("delta: %+v %v", ch, err)
			}
			// Custom action, function and associate.
			var cs struct{ TicketNumber, IncidentId string }
			if err := c.Action(ctx, "accounts", id, "Microsoft.Dynamics.CRM.new_CreateCase", map[string]any{"Title": "From Go"}, &cs); err != nil || !strings.HasPrefix(cs.TicketNumber, "CAS-") {
				t.Fatalf("action: %+v %v", cs, err)
			}
			var cnt struct{ Count int }
			if err := c.Function(ctx, "new_CountOpenCases", map[string]any{"CustomerId": id}, &cnt); err != nil || cnt.Count != 1 {
				t.Fatalf("function: %+v %v", cnt, err)
			}
			if err := c.Associate(ctx, "accounts", id, "contact_customer_accounts", "contacts("+cid+")"); err != nil {
				t.Fatal(err)
			}
			got, err := c.Retrieve(ctx, "contacts", cid, url.Values{"$select": {"_parentcustomerid_value"}})
			if err != nil || got["_parentcustomerid_value"] != id {
				t.Fatalf("associate: %v %v", got, err)
			}
			// One token served every call.
			if n := ts.calls.Load(); n != 1 {
				t.Fatalf("token requested %d times", n)
			}
		})
	}
}

func TestClientBadSecret(t *testing.T) {
	t.Parallel()
	a, org := startJunction(t, store.SQLite)
	ts := newTokenServer(t, a.Keys(), org+"/.default")
	c, _ := dataverse.New(dataverse.Config{URL: org, ClientID: "app-id", ClientSecret: "wrong", TokenURL: ts.URL})
	_, err := c.WhoAmI(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("bad secret: %v", err)
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestRetryAfter runs the client against Junction's Web API with tight
// service protection limits on a fake clock: the client's sleeps advance
// the clock, so the test waits for nothing.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	if err := s.Migrate(ctx, append(append(append([]store.Migration{}, auth.Migrations...), changelog.Migrations()...), records.Migrations()...)); err != nil {
		t.Fatal(err)
	}
	rec := records.New(records.Config{Store: s})
	if err := rec.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	keys := auth.New(s, "")
	h := webapi.NewHandler(webapi.Config{Records: rec, Auth: keys, Now: clk.now, Limits: webapi.LimitConfig{MaxRequests: 2, Window: 30 * time.Second}})
	// A gateway in front answers 503 to the first request, as a load
	// balancer does while a node restarts.
	var gatewayFailures atomic.Int32
	gatewayFailures.Store(1)
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)
	target, _ := url.Parse(api.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gatewayFailures.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	ts := newTokenServer(t, keys, front.URL+"/.default")
	var slept []time.Duration
	var mu sync.Mutex
	c, _ := dataverse.New(dataverse.Config{URL: front.URL, ClientID: "app-id", ClientSecret: "app-secret", TokenURL: ts.URL, Now: clk.now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			clk.add(d)
			return nil
		}})
	for i := 0; i < 3; i++ {
		if _, err := c.WhoAmI(ctx); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got := make([]time.Duration, len(slept))
	copy(got, slept)
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if len(got) != 2 || got[0] != time.Second || got[1] != 30*time.Second {
		t.Fatalf("sleeps %v: want 1 s backoff after 503 and 30 s Retry-After after 429", slept)
	}
}

// TestTokenRefreshOn401: a token the API refuses is replaced once.
func TestTokenRefreshOn401(t *testing.T) {
	t.Parallel()
	a, org := startJunction(t, store.SQLite)
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := "revoked-or-expired"
		if calls.Add(1) > 1 {
			_, secret, err := a.Keys().Create(r.Context(), "refreshed", server.RoleOperator)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			token = secret
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": token})
	}))
	t.Cleanup(ts.Close)
	c, _ := dataverse.New(dataverse.Config{URL: org, ClientID: "id", ClientSecret: "secret", TokenURL: ts.URL})
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("token requested %d times, want 2", calls.Load())
	}
	if _, err := dataverse.New(dataverse.Config{URL: "not a url", ClientID: "a", ClientSecret: "b", TenantID: "t"}); err == nil {
		t.Fatal("bad URL accepted")
	}
	if _, err := dataverse.New(dataverse.Config{URL: org, ClientID: "a", ClientSecret: "b"}); err == nil {
		t.Fatal("missing tenant and token URL accepted")
	}
}

// TestThrottlePausesEveryRequest: after a 429, the client's other requests
// wait out the Retry-After too, as Dataverse asks of parallel callers.
func TestThrottlePausesEveryRequest(t *testing.T) {
	t.Parallel()
	a, org := startJunction(t, store.SQLite)
	_ = a
	target, _ := url.Parse(org)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var first atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "20")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	clk := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	var slept []time.Duration
	c, _ := dataverse.New(dataverse.Config{URL: front.URL, Token: "admin", Now: clk.now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return nil // the clock stands still: the pause is still on for the next call
		}})
	ctx := context.Background()
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := len(slept)
	mu.Unlock()
	// The throttled call slept for its Retry-After (then found the pause on
	// and waited it again); the next call, never throttled itself, waited too.
	if n != 3 || slept[0] != 20*time.Second || slept[2] != 20*time.Second {
		t.Fatalf("sleeps %v", slept)
	}
	clk.add(20 * time.Second)
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 3 {
		t.Fatalf("a call after the pause waited: %v", slept)
	}
}
