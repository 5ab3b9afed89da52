// Package amqp is the broker's AMQP 1.0 front end: a listener that speaks
// the OASIS AMQP 1.0 protocol the way Azure Service Bus does, so that the
// official Service Bus SDKs connect to Junction unchanged. It has its own
// codec (the type system, frames, performatives), SASL (ANONYMOUS, PLAIN,
// MSSBCBS), connection, session and link state machines with link credit and
// session windows, claims-based security on the $cbs node, and the
// per-entity $management node. It is one front end over package broker, as
// package httpapi is another.
package amqp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"junction/internal/broker"
	"junction/internal/lifecycle"
	"junction/internal/server"
	"junction/internal/store"
)

// Right is a Service Bus shared access right ("Send", "Listen", "Manage").
type Right string

// The rights a link or operation needs.
const (
	RightSend   Right = "Send"
	RightListen Right = "Listen"
	RightManage Right = "Manage"
)

// Authorizer checks a token given to $cbs (a SharedAccessSignature token or
// a Junction API key) for an operation needing right need ("" for any) on
// entity ("" for the namespace), and returns when the token expires (zero
// for never).
type Authorizer interface {
	AuthorizeToken(ctx context.Context, token, entity, need string) (time.Time, error)
}

// Config is what the listener is built from.
type Config struct {
	Broker *broker.Broker
	Auth   Authorizer
	// Listen is host:port, or "off". Empty means DefaultListen.
	Listen string
	// Fallback serves on a free port of the same host when Listen is taken
	// (used when Listen is the default address, not one the user gave).
	Fallback bool
	Logger   *slog.Logger
	// IdleTimeout is the idle time-out announced in open (default 60s); a
	// peer that sends nothing for that long is disconnected.
	IdleTimeout time.Duration
	// MaxFrameSize is the largest frame accepted (default 256 KiB).
	MaxFrameSize uint32
	// ContainerID names this node in open frames.
	ContainerID string
	// TLS, when set, makes the listener speak AMQP over TLS (amqps), as
	// Service Bus does on port 5671.
	TLS *tls.Config
}

// DefaultListen is the address of the Service Bus emulator (plain AMQP);
// DefaultListenTLS is the AMQPS port of Service Bus.
const (
	DefaultListen    = "127.0.0.1:5672"
	DefaultListenTLS = "127.0.0.1:5671"
)

// Off disables the listener.
const Off = "off"

// ListenError is a listener that could not be bound.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err) }
func (e *ListenError) Unwrap() error { return e.Err }

// Server is the AMQP listener.
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	ln       net.Listener
	addr     string
	conns    map[*conn]struct{}
	stopping bool
	// g runs the accept loop and one goroutine per connection.
	g lifecycle.Group
}

// New returns a listener; Start binds it.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.MaxFrameSize < 512 {
		cfg.MaxFrameSize = 256 * 1024
	}
	if cfg.ContainerID == "" {
		cfg.ContainerID = "junction"
	}
	return &Server{cfg: cfg, log: cfg.Logger, conns: map[*conn]struct{}{}}
}

// Name implements the app's component contract.
func (s *Server) Name() string { return "amqp" }

// Migrations implements the app's component contract: the listener keeps
// nothing of its own.
func (s *Server) Migrations() []store.Migration { return nil }

// Enabled says whether the listener runs.
func (s *Server) Enabled() bool { return s.cfg.Listen != Off }

// Start binds the listener and accepts connections. Safe to call twice.
func (s *Server) Start(ctx context.Context) error {
	if !s.Enabled() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	fellBack := false
	if err != nil && s.cfg.Fallback && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(s.cfg.Listen)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err == nil {
			fellBack = true
			s.log.Warn("amqp: the default port is taken; serving AMQP on another port", "wanted", s.cfg.Listen, "addr", ln.Addr().String())
		}
	}
	if err != nil {
		return &ListenError{Addr: s.cfg.Listen, Err: err}
	}
	addr := ln.Addr().String()
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.ln, s.addr, s.stopping = ln, addr, false
	s.g.Start(ctx, func(context.Context) { s.accept(ln) })
	if !fellBack {
		s.log.Info("amqp listening", "addr", s.addr, "tls", s.cfg.TLS != nil)
	}
	return nil
}

// TLS reports whether the listener speaks AMQP over TLS.
func (s *Server) TLS() bool { return s.cfg.TLS != nil }

// Addr is the bound address ("" when not listening).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop closes the listener and every connection (with amqp:connection:forced)
// and waits for them within ctx's deadline. Safe to call twice or without
// Start.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.ln, s.stopping = nil, true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.shutdown(errorf(condConnForced, "the server is shutting down"))
	}
	return s.g.Stop(ctx)
}

func (s *Server) accept(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		started := s.g.Go(func(context.Context) {
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		})
		if !started {
			delete(s.conns, c)
			nc.Close()
		}
		s.mu.Unlock()
	}
}

// Routes implements the app's component contract: the listener serves no
// HTTP routes.
func (s *Server) Routes() []server.Route { return nil }
