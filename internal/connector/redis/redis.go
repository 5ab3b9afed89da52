// Package redis is the Redis connector: get, set (with expiry and
// only-if-absent) and publish, speaking RESP over TCP (or TLS) itself.
package redis

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"junction/internal/connector"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "redis"

// New returns the Redis connector. Each operation opens a connection,
// authenticates, selects the database, runs its command and closes it.
// Connections dial through p (nil: the default outbound policy).
func New(p *outbound.Policy) *connector.Connector {
	key := map[string]any{"type": "string", "minLength": 1}
	op := func(id string, fn func(ctx context.Context, c *client, in connector.Values) (any, error)) func(context.Context, connector.Connection, map[string]any) (any, error) {
		return func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
			c, err := dial(ctx, connector.Values(conn.Values), p)
			if err != nil {
				var bad badInput
				if errors.As(err, &bad) {
					return nil, connector.BadInput(Name, id, err)
				}
				return nil, fail(id, err)
			}
			defer c.close()
			out, err := fn(ctx, c, connector.Values(inputs))
			if err != nil {
				var bad badInput
				if errors.As(err, &bad) {
					return nil, connector.BadInput(Name, id, err)
				}
				return nil, fail(id, err)
			}
			return out, nil
		}
	}
	return &connector.Connector{
		Name:        Name,
		Title:       "Redis",
		Description: "Read and write Redis keys and publish to Redis channels.",
		Params: []connector.Param{
			{Name: "address", Type: "string", Required: true, Description: "host:port, e.g. 127.0.0.1:6379"},
			{Name: "username", Type: "string", Description: "ACL user (Redis 6+)"},
			{Name: "password", Type: "string", Secret: true, Description: "password (AUTH)"},
			{Name: "database", Type: "integer", Default: 0, Description: "database number (SELECT)"},
			{Name: "tls", Type: "boolean", Default: false, Description: "connect with TLS"},
			{Name: "timeoutSeconds", Type: "integer", Default: 10, Description: "time limit of one operation"},
		},
		Operations: []connector.Operation{
			{ID: "get", Kind: connector.Action, Summary: "Get a key's value",
				Inputs:  connector.Schema{"type": "object", "required": []string{"key"}, "properties": map[string]any{"key": key}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"value": map[string]any{"type": []string{"string", "null"}}, "exists": map[string]any{"type": "boolean"}}},
				Invoke: op("get", func(ctx context.Context, c *client, in connector.Values) (any, error) {
					k, err := in.Required("key")
					if err != nil {
						return nil, badInput{err}
					}
					v, err := c.do("GET", k)
					if err != nil {
						return nil, err
					}
					return map[string]any{"value": v, "exists": v != nil}, nil
				})},
			{ID: "set", Kind: connector.Action, Summary: "Set a key's value",
				Inputs: connector.Schema{"type": "object", "required": []string{"key", "value"}, "properties": map[string]any{
					"key": key, "value": map[string]any{"description": "a string, or any JSON value stored as JSON text"},
					"expirySeconds": map[string]any{"type": "integer", "minimum": 1}, "onlyIfAbsent": map[string]any{"type": "boolean"},
				}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"written": map[string]any{"type": "boolean"}}},
				Invoke: op("set", func(ctx context.Context, c *client, in connector.Values) (any, error) {
					k, err := in.Required("key")
					if err != nil {
						return nil, badInput{err}
					}
					v, err := in.Bytes("value")
					if err != nil || v == nil {
						return nil, badInput{errors.New("value is required")}
					}
					args := []string{"SET", k, string(v)}
					exp, err := in.Int("expirySeconds", 0)
					if err != nil || exp < 0 {
						return nil, badInput{errors.New("expirySeconds must be a positive integer")}
					}
					if exp > 0 {
						args = append(args, "EX", strconv.FormatInt(exp, 10))
					}
					if nx, err := in.Bool("onlyIfAbsent", false); err != nil {
						return nil, badInput{err}
					} else if nx {
						args = append(args, "NX")
					}
					r, err := c.do(args...)
					if err != nil {
						return nil, err
					}
					return map[string]any{"written": r == "OK"}, nil
				})},
			{ID: "publish", Kind: connector.Action, Summary: "Publish a message to a channel",
				Inputs: connector.Schema{"type": "object", "required": []string{"channel", "message"}, "properties": map[string]any{
					"channel": key, "message": map[string]any{"description": "a string, or any JSON value sent as JSON text"},
				}},
				Outputs: connector.Schema{"type": "object", "properties": map[string]any{"receivers": map[string]any{"type": "integer"}}},
				Invoke: op("publish", func(ctx context.Context, c *client, in connector.Values) (any, error) {
					ch, err := in.Required("channel")
					if err != nil {
						return nil, badInput{err}
					}
					m, err := in.Bytes("message")
					if err != nil || m == nil {
						return nil, badInput{errors.New("message is required")}
					}
					r, err := c.do("PUBLISH", ch, string(m))
					if err != nil {
						return nil, err
					}
					return map[string]any{"receivers": r}, nil
				})},
		},
	}
}

type badInput struct{ error }

func fail(op string, err error) *connector.Error {
	ce := connector.Fail(Name, op, err)
	var se ServerError
	if errors.As(err, &se) {
		code, _, _ := strings.Cut(string(se), " ")
		switch code {
		case "LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY":
			ce.Retryable = true
		default:
			ce.Retryable = false
		}
	}
	return ce
}

type client struct {
	stop func() bool
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

func dial(ctx context.Context, v connector.Values, p *outbound.Policy) (*client, error) {
	addr, err := v.Required("address")
	if err != nil {
		return nil, badInput{err}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, badInput{fmt.Errorf("address %q is not host:port", addr)}
	}
	secs, err := v.Int("timeoutSeconds", 10)
	if err != nil || secs <= 0 {
		return nil, badInput{errors.New("timeoutSeconds must be a positive integer")}
	}
	db, err := v.Int("database", 0)
	if err != nil || db < 0 {
		return nil, badInput{errors.New("database must be a non-negative integer")}
	}
	useTLS, err := v.Bool("tls", false)
	if err != nil {
		return nil, badInput{err}
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	d := p.Dialer(0)
	d.Deadline = deadline
	var conn net.Conn
	if useTLS {
		host, _, _ := net.SplitHostPort(addr)
		conn, err = (&tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c := &client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn), stop: stop}
	user, _ := v.String("username", "")
	pw, _ := v.String("password", "")
	if pw != "" {
		args := []string{"AUTH", pw}
		if user != "" {
			args = []string{"AUTH", user, pw}
		}
		if _, err := c.do(args...); err != nil {
			c.close()
			return nil, fmt.Errorf("authenticate: %w", err)
		}
	}
	if db != 0 {
		if _, err := c.do("SELECT", strconv.FormatInt(db, 10)); err != nil {
			c.close()
			return nil, fmt.Errorf("select database %d: %w", db, err)
		}
	}
	return c, nil
}

func (c *client) close() { c.stop(); _ = c.conn.Close() }

// do sends a command and returns its reply; an error reply is an error.
func (c *client) do(args ...string) (any, error) {
	if err := WriteCommand(c.w, args...); err != nil {
		return nil, err
	}
	r, err := ReadReply(c.r)
	if err != nil {
		return nil, err
	}
	if se, ok := r.(ServerError); ok {
		return nil, se
	}
	return r, nil
}
