package steps

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"junction/internal/changelog"
	"junction/internal/lifecycle"
	"junction/internal/records"
	"junction/internal/store"
)

// Broker sends a message to a queue or topic of Junction's own broker.
type Broker interface {
	SendStep(ctx context.Context, path string, body []byte, properties map[string]any) error
}

// Publisher publishes Event Grid events to one of Junction's event topics
// (a topic name or its endpoint URL).
type Publisher interface {
	Publish(ctx context.Context, topicEndpoint string, raw []json.RawMessage) error
}

// Config is what the steps service needs.
type Config struct {
	Records *records.Service
	Logger  *slog.Logger
	// HTTPClient posts to webhooks (outbound policy applied); its timeout
	// bounds a synchronous step.
	HTTPClient *http.Client
	Broker     Broker
	Events     Publisher
	// OwnNamespace reports whether a Service Bus namespace address is
	// Junction's own broker; other namespaces are not reached.
	OwnNamespace func(address string) bool
	// OrganizationName is the OrganizationName of the contexts posted.
	OrganizationName string
	NodeID           string
	// Retries is how many times an asynchronous post is retried before its
	// System Job fails; Backoff the first wait, doubled each retry.
	Retries int
	Backoff time.Duration
	// Poll is how often the job worker looks for due jobs besides being
	// woken by a commit.
	Poll time.Duration
}

// Service runs registered steps on records' writes (records.Steps) and
// delivers asynchronous ones in the background (Start, Stop).
type Service struct {
	rec     *records.Service
	log     *slog.Logger
	http    *http.Client
	broker  Broker
	events  Publisher
	own     func(string) bool
	orgName string
	owner   string
	retries int
	backoff time.Duration

	reg  registry
	jobs *lifecycle.Drainer // posts the asynchronous steps' System Jobs
}

var _ records.Steps = (*Service)(nil)

// New returns the steps service; call Records.SetSteps with it.
func New(cfg Config) *Service {
	s := &Service{rec: cfg.Records, log: cfg.Logger, http: cfg.HTTPClient, broker: cfg.Broker, events: cfg.Events, own: cfg.OwnNamespace,
		orgName: cfg.OrganizationName, owner: cfg.NodeID, retries: cfg.Retries, backoff: cfg.Backoff}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.http == nil {
		s.http = &http.Client{Timeout: 60 * time.Second}
	}
	if s.own == nil {
		s.own = func(string) bool { return false }
	}
	if s.orgName == "" {
		s.orgName = "junction"
	}
	if s.owner == "" {
		s.owner = records.NewID()
	}
	if s.retries <= 0 {
		s.retries = 5
	}
	if s.backoff <= 0 {
		s.backoff = 10 * time.Second
	}
	poll := cfg.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	s.jobs = lifecycle.NewDrainer(poll, s.runDue, func(err error) { s.log.Error("steps: asynchronous job", "err", err) })
	return s
}

// Quiet reports whether Written does nothing for a change of message to t:
// no step is registered on it and t is not a registration table.
func (s *Service) Quiet(ctx context.Context, q store.Querier, t *records.Table, message string) (bool, error) {
	if registration[t.Name] {
		return false, nil
	}
	if t.Name == "asyncoperation" {
		return true, nil
	}
	matched, err := s.matching(ctx, q, message, t.Name)
	return len(matched) == 0, err
}

// Written runs the steps registered for change c of t: synchronous ones
// post now (an error rolls the write back), asynchronous ones are recorded
// as System Jobs in tx. A write to the registration tables is checked and
// reloads the steps instead.
func (s *Service) Written(ctx context.Context, tx store.Tx, t *records.Table, c changelog.Change) error {
	if registration[t.Name] {
		c = c.Whole()
		s.reg.changing(tx)
		if t.Name == "sdkmessageprocessingstep" && c.After != nil {
			if c.Message == changelog.Create || slices.Contains(c.Changed, "sdkmessageid") || slices.Contains(c.Changed, "sdkmessagefilterid") {
				if err := s.checkFilter(ctx, tx, c.After); err != nil {
					return err
				}
			}
			return s.checkStep(ctx, tx, c.After)
		}
		return nil
	}
	if t.Name == "asyncoperation" {
		return nil
	}
	matched, err := s.matching(ctx, tx, c.Message, t.Name)
	if err != nil {
		return err
	}
	if len(matched) > 0 {
		c = c.Whole()
	}
	for _, st := range matched {
		if !fires(st, c.Message, c.Changed) {
			continue
		}
		if st.Mode == 1 {
			if err := s.enqueue(ctx, tx, t, c, st); err != nil {
				return err
			}
			continue
		}
		rc, err := s.contextFor(t, c, st, records.NewID())
		if err != nil {
			return err
		}
		body, err := json.Marshal(rc)
		if err != nil {
			return err
		}
		if err := s.post(ctx, st, rc.PrimaryEntityName, rc.MessageName, rc.CorrelationID, body); err != nil {
			return records.Errorf(http.StatusBadRequest, records.CodePluginError, "The synchronous step '%s' failed to post to the service endpoint '%s': %v", st.Name, st.Endpoint.Name, err)
		}
	}
	return nil
}

// checkStep refuses a step Dataverse would not run: an asynchronous step
// outside post-operation, and a synchronous step on a Service Bus or Event
// Grid endpoint (only webhooks take synchronous steps).
func (s *Service) checkStep(ctx context.Context, tx store.Tx, row map[string]any) error {
	mode, _ := row["mode"].(int64)
	stage, _ := row["stage"].(int64)
	if mode == 1 && stage != 40 {
		return records.Invalid("An asynchronous step must be registered in the post-operation stage (40).")
	}
	h, _ := row["eventhandler"].(map[string]any)
	id, _ := h["id"].(string)
	if id == "" {
		return nil
	}
	et, ok := s.rec.Table("serviceendpoint")
	if !ok {
		return nil
	}
	e, err := s.rec.Get(ctx, tx, et, id)
	if err != nil {
		return err
	}
	switch num(e, "contract") {
	case contractWebhook:
	case contractQueue, contractQueuePersistent, contractTopic, contractEventGrid:
		if mode == 0 {
			return records.Invalid("Only a webhook service endpoint takes synchronous steps; register the step for '%s' as asynchronous.", str(e, "name"))
		}
	default:
		return records.Invalid("Junction cannot post to the service endpoint '%s': its contract is not a webhook, a queue, a topic or Event Grid.", str(e, "name"))
	}
	return nil
}

// checkFilter refuses a step whose sdkmessagefilterid is not a filter of
// its own sdkmessageid, or one that takes no custom steps.
func (s *Service) checkFilter(ctx context.Context, tx store.Tx, row map[string]any) error {
	refID := func(col string) string {
		switch v := row[col].(type) {
		case map[string]any:
			id, _ := v["id"].(string)
			return id
		case records.Ref:
			return v.ID
		}
		return ""
	}
	fid, mid := refID("sdkmessagefilterid"), refID("sdkmessageid")
	ft, ok := s.rec.Table("sdkmessagefilter")
	if fid == "" || !ok {
		return nil
	}
	f, err := s.rec.Get(ctx, tx, ft, fid)
	if err != nil {
		return err
	}
	if got := ref(f, "sdkmessageid"); !strings.EqualFold(got, mid) {
		return records.Invalid("The sdkmessagefilter %s is a filter of another message (sdkmessageid %s, not %s).", fid, got, mid)
	}
	if allowed, ok := f["iscustomprocessingstepallowed"].(bool); ok && !allowed {
		return records.Invalid("The sdkmessagefilter %s (%s) takes no custom steps.", fid, str(f, "primaryobjecttypecode"))
	}
	return nil
}
