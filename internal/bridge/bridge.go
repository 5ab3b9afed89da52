// Package bridge connects Junction's surfaces to each other: event
// subscriptions that deliver to broker queues, workflows and functions; the
// function host's Service Bus, Event Grid and Dataverse bindings; workflow
// triggers fired by broker messages; functions and workflows as Custom API
// implementations; the JavaScript sandbox behind the workflows'
// JavaScriptCode action; and Junction's tables as batch jobs' sources and
// sinks (Tables, over records' bulk key operations). Each surface declares
// the small interface it consumes; this package implements them over the
// others' Go APIs, and holds no domain logic and no SQL.
package bridge

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"junction/internal/broker"
	"junction/internal/events"
	"junction/internal/function"
	"junction/internal/function/js"
	"junction/internal/records"
	"junction/internal/server"
	"junction/internal/store"
	"junction/internal/workflow"
)

// Bridge holds the surfaces it connects. Fields are set by app wiring as the
// surfaces are built; each adapter uses only the ones it needs.
type Bridge struct {
	Store   store.Store
	Log     *slog.Logger
	NodeID  string
	Broker  *broker.Broker
	Router  *events.Router
	Engine  *workflow.Engine
	Host    *function.Host
	Records *records.Service
	// Local returns Junction's own base URL and a key to call it with.
	Local func() (baseURL, key string)
	// LocalClient calls Local's URL; it trusts the listener's own certificate.
	LocalClient *http.Client
}

// Config is what a Bridge is built from; the surfaces it connects are set
// on the Bridge by the app's wiring as they are built.
type Config struct {
	Store  store.Store
	Logger *slog.Logger // nil: discard
	NodeID string
}

// New returns a bridge over cfg.Store; set the surfaces before Start.
func New(cfg Config) *Bridge {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Bridge{Store: cfg.Store, Log: cfg.Logger, NodeID: cfg.NodeID}
}

// Name implements the app's component contract.
func (b *Bridge) Name() string { return "bridge" }

// Migrations: the bridge keeps no tables (changelog/3 moved the row
// triggers' cursors, which it kept in bridge_cursors, to the change log).
func (b *Bridge) Migrations() []store.Migration { return nil }

// Routes: the bridge serves nothing itself.
func (b *Bridge) Routes() []server.Route { return nil }

// Start implements the app's component contract: the bridge runs nothing of
// its own (the Service Bus triggers' receive loops run while the engine keeps
// their workflows subscribed).
func (b *Bridge) Start(context.Context) error { return nil }

// Stop implements the app's component contract.
func (b *Bridge) Stop(context.Context) error { return nil }

// JSRunner runs the workflows' JavaScriptCode actions in the function host's
// sandbox.
type JSRunner struct{ Sandbox *js.Sandbox }

// RunJS implements workflow.JSRunner.
func (r JSRunner) RunJS(ctx context.Context, code string, workflowContext map[string]any) (any, error) {
	out, _, err := r.Sandbox.Run(ctx, code, workflowContext)
	return out, err
}

var _ workflow.JSRunner = JSRunner{}

// FunctionCaller runs the workflows' Function actions on the bridge's
// function host (set once the host is built).
type FunctionCaller struct{ Bridge *Bridge }

// CallFunction implements workflow.FunctionCaller.
func (c FunctionCaller) CallFunction(ctx context.Context, name string, r *http.Request) (int, http.Header, []byte, error) {
	if c.Bridge == nil || c.Bridge.Host == nil {
		return 0, nil, nil, errors.New("no function host runs on this node")
	}
	resp, id, err := c.Bridge.Host.CallHTTP(ctx, name, r)
	if err != nil {
		if id != "" { // it ran and failed
			return http.StatusInternalServerError, http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "x-junction-invocation-id": {id}}, []byte(err.Error()), nil
		}
		return 0, nil, nil, err
	}
	h := resp.Headers.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("x-junction-invocation-id", id)
	return resp.Status, h, resp.Body, nil
}

var _ workflow.FunctionCaller = FunctionCaller{}
