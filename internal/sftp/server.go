package sftp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"junction/internal/lifecycle"
	"junction/internal/project"
	"junction/internal/secrets"
	"junction/internal/server"
	"junction/internal/store"
)

// Options build a Server.
type Options struct {
	DataDir string
	Logger  *slog.Logger
	// Secrets resolves ${VAR} in sftp.yaml (nil: nothing resolves).
	Secrets *secrets.Resolver
	// OnUpload is called after a file written by a user is closed.
	OnUpload func(user, path string)
	// Lockout slows down and locks out failed password logins.
	Lockout Lockout
	// Now is the clock of lockouts (default time.Now); Sleep holds a failed
	// login back (default time.Sleep). Tests inject both.
	Now   func() time.Time
	Sleep func(time.Duration)
}

// Server is the built-in SFTP server component.
type Server struct {
	opt   Options
	mu    sync.Mutex
	cfg   *Config
	users map[string]*user
	ln    net.Listener // nil while stopped
	conns map[net.Conn]bool
	// conns and the accept loop run in group, from Start to Stop.
	group lifecycle.Group
	guard *guard
}

type user struct {
	name     string
	password string
	keys     [][]byte
	folder   string
}

// New builds the server; it listens only if the project has sftp.yaml.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	return &Server{opt: o, users: map[string]*user{}, conns: map[net.Conn]bool{}, guard: newGuard(o.Lockout, o.Now)}
}

// SetOnUpload sets the function told of completed uploads.
func (s *Server) SetOnUpload(fn func(user, path string)) {
	s.mu.Lock()
	s.opt.OnUpload = fn
	s.mu.Unlock()
}

// Name is the component name.
func (s *Server) Name() string { return "sftp" }

// Migrations: the server keeps no state in the store.
func (s *Server) Migrations() []store.Migration { return nil }

// Routes: none; the server has its own listener.
func (s *Server) Routes() []server.Route { return nil }

// LoadProject reads sftp.yaml and resolves passwords from the environment.
func (s *Server) LoadProject(_ context.Context, p *project.Project) error {
	if !p.Exists(File) {
		return nil
	}
	var c Config
	if pr := p.DecodeYAML(File, &c); pr != nil {
		return pr
	}
	return s.Configure(c)
}

// Configure sets the users (tests and LoadProject).
func (s *Server) Configure(c Config) error {
	if ps := c.check(nil); len(ps) > 0 {
		return fmt.Errorf("%s: %s", File, ps[0])
	}
	listen, err := s.opt.Secrets.Expand(c.Listen)
	if err != nil {
		return fmt.Errorf("%s: listen: %w", File, err)
	}
	if !strings.Contains(listen, ":") {
		return fmt.Errorf("%s: listen: %q is not host:port", File, listen)
	}
	c.Listen = listen
	users := map[string]*user{}
	for _, u := range c.Users {
		nu := &user{name: u.Name, folder: filepath.Join(s.opt.DataDir, "sftp", u.Folder)}
		if u.Password != "" {
			pw, err := s.opt.Secrets.Expand(u.Password)
			if err != nil {
				return fmt.Errorf("%s: user %s: %w", File, u.Name, err)
			}
			nu.password = pw
		}
		for _, k := range u.PublicKeys {
			pk, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(k))
			nu.keys = append(nu.keys, pk.Marshal())
		}
		if err := os.MkdirAll(nu.folder, 0o750); err != nil {
			return err
		}
		users[u.Name] = nu
	}
	s.mu.Lock()
	s.cfg, s.users = &c, users
	s.mu.Unlock()
	return nil
}

// Folder is a user's folder on disk.
func (s *Server) Folder(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return "", false
	}
	return u.folder, true
}

// Addr is the listening address, or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// HostKeyFingerprint is the SHA256 fingerprint remote clients should expect.
func (s *Server) HostKeyFingerprint() (string, error) {
	signer, err := s.hostKey()
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(signer.PublicKey()), nil
}

// hostKey loads the server's ed25519 key, creating it on first use.
func (s *Server) hostKey() (ssh.Signer, error) {
	path := filepath.Join(s.opt.DataDir, "sftp", "host_ed25519_key")
	if b, err := os.ReadFile(path); err == nil {
		return ssh.ParsePrivateKey(b)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "junction sftp host key")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(block)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return ssh.ParsePrivateKey(b)
}

func (s *Server) sshConfig(signer ssh.Signer) *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			addr := host(meta.RemoteAddr())
			if err := s.refuseLocked(addr, meta.User()); err != nil {
				return nil, err
			}
			s.mu.Lock()
			u := s.users[meta.User()]
			s.mu.Unlock()
			if u == nil || u.password == "" || subtle.ConstantTimeCompare([]byte(u.password), pw) != 1 {
				delay, until := s.guard.fail(addr, meta.User())
				s.opt.Logger.Warn("sftp login failed", "remote", addr, "user", meta.User(), "method", "password", "delay_ms", delay.Milliseconds())
				if !until.IsZero() {
					s.opt.Logger.Warn("sftp login locked out", "remote", addr, "user", meta.User(), "until", until.UTC().Format(time.RFC3339), "threshold", s.guard.l.Threshold)
				}
				s.opt.Sleep(delay)
				return nil, errors.New("access denied")
			}
			s.guard.succeed(addr, u.name)
			return &ssh.Permissions{Extensions: map[string]string{"user": u.name}}, nil
		},
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			// Offered keys that do not match are not failures: clients try
			// every key they hold in turn.
			if err := s.refuseLocked(host(meta.RemoteAddr()), meta.User()); err != nil {
				return nil, err
			}
			s.mu.Lock()
			u := s.users[meta.User()]
			s.mu.Unlock()
			if u != nil {
				k := key.Marshal()
				for _, allowed := range u.keys {
					if subtle.ConstantTimeCompare(allowed, k) == 1 {
						return &ssh.Permissions{Extensions: map[string]string{"user": u.name}}, nil
					}
				}
			}
			return nil, errors.New("access denied")
		},
		MaxAuthTries: 6,
	}
	cfg.AddHostKey(signer)
	return cfg
}

// refuseLocked refuses a login from a locked-out address or for a locked-out user.
func (s *Server) refuseLocked(addr, user string) error {
	if locked, until := s.guard.locked(addr, user); locked {
		s.opt.Logger.Warn("sftp login refused: locked out", "remote", addr, "user", user, "until", until.UTC().Format(time.RFC3339))
		return errors.New("access denied")
	}
	return nil
}

// Start listens when sftp.yaml configured the server. Starting a running
// server does nothing; a stopped one listens again.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	cfg, running := s.cfg, s.ln != nil
	s.mu.Unlock()
	if cfg == nil || running {
		return nil
	}
	signer, err := s.hostKey()
	if err != nil {
		return fmt.Errorf("sftp host key: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("sftp listen: %w", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	sc := s.sshConfig(signer)
	s.group.Start(ctx, func(context.Context) { s.accept(ln, sc) })
	s.opt.Logger.Info("sftp serving", "addr", ln.Addr().String())
	return nil
}

// accept serves each connection to ln until Stop closes it.
func (s *Server) accept(ln net.Listener, sc *ssh.ServerConfig) {
	for {
		c, err := ln.Accept()
		// Registered in the same critical section as the check, so that Stop
		// either sees the connection (and closes it) or came first.
		s.mu.Lock()
		stopped := s.ln != ln
		if err == nil && !stopped {
			s.conns[c] = true
		}
		s.mu.Unlock()
		if err != nil {
			if !stopped {
				s.opt.Logger.Error("sftp accept; the server stops listening", "err", err)
			}
			return
		}
		if stopped {
			c.Close()
			return
		}
		forget := func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}
		served := s.group.Go(func(context.Context) {
			defer forget()
			s.serveConn(c, sc)
		})
		if !served {
			forget()
			c.Close()
		}
	}
}

func (s *Server) serveConn(c net.Conn, sc *ssh.ServerConfig) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	conn, chans, reqs, err := ssh.NewServerConn(c, sc)
	if err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	name := conn.Permissions.Extensions["user"]
	s.mu.Lock()
	u := s.users[name]
	s.mu.Unlock()
	if u == nil {
		return
	}
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions are served")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range requests {
				ok := req.Type == "subsystem" && len(req.Payload) >= 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				root, err := os.OpenRoot(u.folder)
				if err != nil {
					return
				}
				s.mu.Lock()
				onUpload := s.opt.OnUpload
				s.mu.Unlock()
				h := &handlers{root: root, user: u.name, onUpload: onUpload}
				rs := sftp.NewRequestServer(ch, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
				if err := rs.Serve(); err != nil && !errors.Is(err, io.EOF) {
					s.opt.Logger.Debug("sftp session", "user", u.name, "err", err)
				}
				rs.Close()
				root.Close()
				return
			}
		}()
	}
}

// Stop closes the listener and every connection, and waits for their
// sessions to end within ctx's deadline. Safe twice and without Start.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	return s.group.Stop(ctx)
}
