// Package connector is the registry of connectors: each connector describes its
// connection parameters and its operations (inputs and outputs as JSON Schema),
// and those descriptions drive validation, each connector's docs page, and the
// workflow engine's ServiceProvider / OpenApiConnection actions. The connectors
// themselves live in internal/connector/<name>.
package connector

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Schema is a JSON Schema as a decoded JSON value.
type Schema = map[string]any

// Param is one connection parameter, e.g. a host, a user, a password.
type Param struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // string, integer, boolean, object
	Description string `json:"description"`
	Required    bool   `json:"required,omitempty"`
	// Secret parameters are never logged, shown, or written to run history.
	Secret  bool `json:"secret,omitempty"`
	Default any  `json:"default,omitempty"`
}

// Kind says whether an operation is an action or a trigger.
type Kind string

// Operation kinds.
const (
	Action  Kind = "action"
	Trigger Kind = "trigger"
)

// Operation is one thing a connector can do.
type Operation struct {
	ID          string `json:"id"` // e.g. "sendMessage", as workflows name it
	Summary     string `json:"summary"`
	Description string `json:"description,omitempty"`
	Kind        Kind   `json:"kind"`
	Inputs      Schema `json:"inputs"`
	Outputs     Schema `json:"outputs,omitempty"`
	// Invoke runs the operation with validated inputs on an open connection.
	Invoke func(ctx context.Context, conn Connection, inputs map[string]any) (any, error) `json:"-"`
	// Response says that Invoke returns an HTTP response ({"statusCode",
	// "headers", "body"}), which a workflow action shows as its outputs as
	// they are (as Logic Apps shows a custom connector's action); otherwise
	// the result is the outputs' body.
	Response bool `json:"response,omitempty"`
	// Paging, when set, says that the operation's answer may continue on
	// further pages, which a workflow action with a pagination policy reads.
	Paging *Paging `json:"paging,omitempty"`
}

// Paging describes a paged answer as OpenAPI's x-ms-pageable does
// (github.com/Azure/autorest, docs/extensions "x-ms-pageable"): the page (the
// result, or its body for a Response operation) holds its items in ItemName
// ("value" when empty) and the next page's link in NextLinkName.
type Paging struct {
	ItemName     string `json:"itemName,omitempty"`
	NextLinkName string `json:"nextLinkName"`
	// Next reads the page at link (a next link of the previous page) on conn
	// and answers as Invoke does.
	Next func(ctx context.Context, conn Connection, link string) (any, error) `json:"-"`
}

// Items is the name of the property holding a page's items.
func (p *Paging) Items() string {
	if p.ItemName == "" {
		return "value"
	}
	return p.ItemName
}

// Connection is a connector's resolved parameters (app settings already
// substituted). Values holds secrets: never log or persist it.
type Connection struct {
	Name      string
	Connector string
	Values    map[string]any
}

// Connector describes one connector.
type Connector struct {
	Name        string      `json:"name"` // e.g. "sql", "servicebus", "dataverse"
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Params      []Param     `json:"parameters"`
	Operations  []Operation `json:"operations"`
}

// Op returns the named operation.
func (c *Connector) Op(id string) (*Operation, bool) {
	for i := range c.Operations {
		if c.Operations[i].ID == id {
			return &c.Operations[i], true
		}
	}
	return nil, false
}

// Error is a failed operation, naming the connector and operation. Retryable
// tells a workflow's retry policy whether trying again may help (timeouts,
// throttling, 5xx); Status carries an HTTP-like status when there is one.
type Error struct {
	Connector string
	Operation string
	Status    int
	Retryable bool
	Err       error
}

func (e *Error) Error() string {
	return fmt.Sprintf("connector %s, operation %s: %v", e.Connector, e.Operation, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Errors of the registry.
var (
	ErrUnknownConnector = errors.New("unknown connector")
	ErrUnknownOperation = errors.New("unknown operation")
)

// Registry holds the connectors of one Junction. Nothing is global: build one
// in app wiring and register each connector.
type Registry struct {
	mu         sync.RWMutex
	connectors map[string]*Connector
	custom     map[string]bool // names SetCustom registered
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{connectors: map[string]*Connector{}} }

// Register adds c. A second connector with the same name is an error.
func (r *Registry) Register(c *Connector) error {
	if err := c.check(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.connectors[c.Name]; ok {
		return fmt.Errorf("register connector %q: already registered", c.Name)
	}
	r.connectors[c.Name] = c
	return nil
}

// check refuses a connector without a name, or with an operation that cannot
// be called.
func (c *Connector) check() error {
	if c.Name == "" {
		return errors.New("register connector: a name is required")
	}
	for _, op := range c.Operations {
		if op.ID == "" || op.Invoke == nil {
			return fmt.Errorf("register connector %q: operation %q needs an id and Invoke", c.Name, op.ID)
		}
		if op.Paging != nil && (op.Paging.NextLinkName == "" || op.Paging.Next == nil) {
			return fmt.Errorf("register connector %q: operation %q is paged and needs a next link name and Next", c.Name, op.ID)
		}
	}
	return nil
}

// SetCustom makes cs the registry's custom connectors (a project's OpenAPI
// documents), replacing the ones an earlier call set; a name that a built-in
// connector has is an error, and then nothing changes.
func (r *Registry) SetCustom(cs []*Connector) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := map[string]bool{}
	for _, c := range cs {
		if err := c.check(); err != nil {
			return err
		}
		if prev, ok := r.connectors[c.Name]; ok && !r.custom[c.Name] {
			return fmt.Errorf("custom connector %q: a built-in connector has that name (%s)", c.Name, prev.Name)
		}
		if names[c.Name] {
			return fmt.Errorf("custom connector %q: defined twice", c.Name)
		}
		names[c.Name] = true
	}
	for name := range r.custom {
		delete(r.connectors, name)
	}
	r.custom = names
	for _, c := range cs {
		r.connectors[c.Name] = c
	}
	return nil
}

// Get returns the named connector.
func (r *Registry) Get(name string) (*Connector, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.connectors[name]
	return c, ok
}

// List returns every connector, sorted by name.
func (r *Registry) List() []*Connector {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Connector, 0, len(r.connectors))
	for _, c := range r.connectors {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a connector's operation, with errors that name what is missing.
func (r *Registry) Lookup(connectorName, opID string) (*Connector, *Operation, error) {
	c, ok := r.Get(connectorName)
	if !ok {
		return nil, nil, fmt.Errorf("%w %q", ErrUnknownConnector, connectorName)
	}
	op, ok := c.Op(opID)
	if !ok {
		return nil, nil, fmt.Errorf("connector %q: %w %q", connectorName, ErrUnknownOperation, opID)
	}
	return c, op, nil
}

// Invoke runs an operation. Input validation against op.Inputs belongs to the
// caller that owns the JSON Schema validator (shared: santhosh-tekuri/jsonschema).
func (r *Registry) Invoke(ctx context.Context, conn Connection, opID string, inputs map[string]any) (any, error) {
	_, op, err := r.Lookup(conn.Connector, opID)
	if err != nil {
		return nil, err
	}
	return wrap(conn, opID)(op.Invoke(ctx, conn, inputs))
}

// NextPage reads the page at link of a paged operation's answer.
func (r *Registry) NextPage(ctx context.Context, conn Connection, opID, link string) (any, error) {
	_, op, err := r.Lookup(conn.Connector, opID)
	if err != nil {
		return nil, err
	}
	if op.Paging == nil {
		return nil, fmt.Errorf("connector %q: the operation %q is not paged", conn.Connector, opID)
	}
	return wrap(conn, opID)(op.Paging.Next(ctx, conn, link))
}

// wrap makes an operation's failure an *Error naming the connector and the
// operation.
func wrap(conn Connection, opID string) func(any, error) (any, error) {
	return func(out any, err error) (any, error) {
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				err = &Error{Connector: conn.Connector, Operation: opID, Err: err}
			}
			return nil, err
		}
		return out, nil
	}
}
