// Package steps runs Dataverse's own integration points on Junction's
// tables: the steps (sdkmessageprocessingstep rows) an org registers, as the
// Plugin Registration Tool writes them, post the RemoteExecutionContext of a
// matching Create, Update or Delete to their service endpoint (a webhook,
// Junction's broker queue or topic, or an events topic). A synchronous step
// posts inside the write's transaction, and the write fails (nothing is
// written) if the endpoint does; an asynchronous step records the post as a
// System Job (an asyncoperation row) in the same transaction, which a
// background worker delivers with retries.
package steps

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"junction/internal/records"
	"junction/internal/store"
)

// Contracts of serviceendpoint rows (the serviceendpoint table reference).
const (
	contractQueue           = 2
	contractTopic           = 5
	contractQueuePersistent = 6
	contractEventHub        = 7
	contractWebhook         = 8
	contractEventGrid       = 9
)

// Image types of sdkmessageprocessingstepimage rows.
const (
	imagePre  = 0
	imagePost = 1
	imageBoth = 2
)

// registration are the tables steps are registered in; a write to one
// reloads the registered steps, and none of them runs steps itself.
var registration = map[string]bool{"sdkmessageprocessingstep": true, "sdkmessageprocessingstepimage": true,
	"serviceendpoint": true, "sdkmessage": true, "sdkmessagefilter": true}

// step is one enabled sdkmessageprocessingstep with what it refers to.
type step struct {
	ID, Name        string
	Message         string // sdkmessage name: Create, Update, Delete...
	Table           string // the filter's primary table; "" for any
	Stage, Mode     int64
	Rank            int64
	Filtering       []string // Update: the columns that fire it; empty: any
	AsyncAutoDelete bool
	User            string // impersonatinguserid, when set
	Endpoint        endpoint
	Images          []image
}

type endpoint struct {
	ID, Name                 string
	Contract                 int64
	URL, Path, Namespace     string
	AuthType                 int64
	AuthValue                string
	MessageFormat, UserClaim int64
}

type image struct {
	Alias      string
	Type       int64
	Attributes []string // empty: every column
}

// registry caches the enabled steps. A write to the registration tables on
// this node empties it; other nodes' writes show within cacheTTL.
type registry struct {
	mu      sync.Mutex
	gen     atomic.Int64
	seen    int64
	expires time.Time
	steps   []step
	loaded  bool
	// writing are the transactions under way that changed a registration:
	// what they read is not cached, since they may yet roll back.
	writing map[store.Tx]bool
}

const cacheTTL = 5 * time.Second

func (r *registry) forget() { r.gen.Add(1) }

// changing notes that tx changes a registration: the cache is emptied now
// and when tx commits, and tx's own reads are not cached.
func (r *registry) changing(tx store.Tx) {
	r.forget()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.writing == nil {
		r.writing = map[store.Tx]bool{}
	}
	if !r.writing[tx] {
		r.writing[tx] = true
		tx.AfterCommit(func() {
			r.mu.Lock()
			delete(r.writing, tx)
			r.mu.Unlock()
			r.forget()
		})
	}
}

// matching returns the steps registered for message on table, in the order
// they run: by stage, then rank.
func (s *Service) matching(ctx context.Context, q store.Querier, message, table string) ([]step, error) {
	all, err := s.registered(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []step
	for _, st := range all {
		if strings.EqualFold(st.Message, message) && (st.Table == "" || st.Table == table) {
			out = append(out, st)
		}
	}
	return out, nil
}

func (s *Service) registered(ctx context.Context, q store.Querier) ([]step, error) {
	r := &s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.gen.Load()
	if tx, ok := q.(store.Tx); ok && r.writing[tx] {
		return s.load(ctx, q)
	}
	if r.loaded && g == r.seen && time.Now().Before(r.expires) {
		return r.steps, nil
	}
	steps, err := s.load(ctx, q)
	if err != nil {
		return nil, err
	}
	r.steps, r.loaded, r.seen, r.expires = steps, true, g, time.Now().Add(cacheTTL)
	return steps, nil
}

// rows reads every row of a table (registration tables are small).
func (s *Service) rows(ctx context.Context, q store.Querier, table, where string, args ...any) ([]records.Row, error) {
	t, ok := s.rec.Table(table)
	if !ok {
		return nil, nil
	}
	sqlText := fmt.Sprintf("SELECT %s FROM %s t", records.SelectList(t, "t"), records.Quote(t.SQLName()))
	if where != "" {
		sqlText += " WHERE " + where
	}
	rs, err := q.Query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return store.CollectRows(rs, func(r *sql.Rows) (records.Row, error) { return records.ScanRow(t, r) })
}

func byID(rows []records.Row, pk string) map[string]records.Row {
	out := make(map[string]records.Row, len(rows))
	for _, r := range rows {
		id, _ := r[pk].(string)
		out[id] = r
	}
	return out
}

func ref(r records.Row, col string) string {
	v, _ := r[col].(records.Ref)
	return v.ID
}

func str(r records.Row, col string) string {
	v, _ := r[col].(string)
	return v
}

func num(r records.Row, col string) int64 {
	v, _ := r[col].(int64)
	return v
}

// list splits a comma-separated column list, lower-cased.
func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// load reads the enabled steps whose event handler is a service endpoint.
func (s *Service) load(ctx context.Context, q store.Querier) ([]step, error) {
	stepRows, err := s.rows(ctx, q, "sdkmessageprocessingstep", "t.statecode = 0 AND t.eventhandler IS NOT NULL")
	if err != nil || len(stepRows) == 0 {
		return nil, err
	}
	msgRows, err := s.rows(ctx, q, "sdkmessage", "")
	if err != nil {
		return nil, err
	}
	filterRows, err := s.rows(ctx, q, "sdkmessagefilter", "")
	if err != nil {
		return nil, err
	}
	endRows, err := s.rows(ctx, q, "serviceendpoint", "")
	if err != nil {
		return nil, err
	}
	imgRows, err := s.rows(ctx, q, "sdkmessageprocessingstepimage", "")
	if err != nil {
		return nil, err
	}
	msgs, filters, ends := byID(msgRows, "sdkmessageid"), byID(filterRows, "sdkmessagefilterid"), byID(endRows, "serviceendpointid")
	images := map[string][]image{}
	for _, r := range imgRows {
		id := ref(r, "sdkmessageprocessingstepid")
		images[id] = append(images[id], image{Alias: str(r, "entityalias"), Type: num(r, "imagetype"), Attributes: list(str(r, "attributes"))})
	}
	var out []step
	for _, r := range stepRows {
		e, ok := ends[ref(r, "eventhandler")]
		if !ok {
			continue
		}
		st := step{ID: str(r, "sdkmessageprocessingstepid"), Name: str(r, "name"), Message: str(msgs[ref(r, "sdkmessageid")], "name"),
			Stage: num(r, "stage"), Mode: num(r, "mode"), Rank: num(r, "rank"), Filtering: list(str(r, "filteringattributes")),
			User: ref(r, "impersonatinguserid"), Images: images[str(r, "sdkmessageprocessingstepid")],
			Endpoint: endpoint{ID: str(e, "serviceendpointid"), Name: str(e, "name"), Contract: num(e, "contract"), URL: str(e, "url"),
				Path: str(e, "path"), Namespace: str(e, "namespaceaddress"), AuthType: num(e, "authtype"), AuthValue: str(e, "authvalue"),
				MessageFormat: num(e, "messageformat"), UserClaim: num(e, "userclaim")}}
		st.AsyncAutoDelete, _ = r["asyncautodelete"].(bool)
		if fid := ref(r, "sdkmessagefilterid"); fid != "" {
			f, ok := filters[fid]
			if !ok {
				continue // its table was deleted: the step matches nothing
			}
			if t := strings.ToLower(str(f, "primaryobjecttypecode")); t != "none" {
				st.Table = t
			}
		}
		out = append(out, st)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Stage != out[j].Stage {
			return out[i].Stage < out[j].Stage
		}
		return out[i].Rank < out[j].Rank
	})
	return out, nil
}
