// Package sftp is the SFTP connector: list, read, write (to a temporary
// name, then renamed into place), move and delete files on an SSH server,
// with password or private key authentication and a pinned host key.
package sftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"junction/internal/connector"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "sftp"

// MaxRead caps a file read into an operation's output.
const MaxRead = 64 << 20

// New returns the SFTP connector. Each operation opens its own SSH connection.
// Connections dial through p (nil: the default outbound policy).
func New(p *outbound.Policy) *connector.Connector {
	return &connector.Connector{
		Name:        Name,
		Title:       "SFTP",
		Description: "List, read, write, move and delete files on an SFTP server.",
		Params: []connector.Param{
			{Name: "host", Type: "string", Required: true, Description: "server host name or address"},
			{Name: "port", Type: "integer", Default: 22, Description: "server port"},
			{Name: "username", Type: "string", Required: true, Description: "user name"},
			{Name: "password", Type: "string", Secret: true, Description: "password (or use privateKey)"},
			{Name: "privateKey", Type: "string", Secret: true, Description: "private key, OpenSSH or PEM format"},
			{Name: "privateKeyPassphrase", Type: "string", Secret: true, Description: "passphrase of an encrypted private key"},
			{Name: "hostKey", Type: "string", Description: "the server's public host key as in known_hosts (\"ssh-ed25519 AAAA...\"); required unless acceptAnyHostKey"},
			{Name: "acceptAnyHostKey", Type: "boolean", Default: false, Description: "skip host key verification (tests only)"},
			{Name: "timeoutSeconds", Type: "integer", Default: 30, Description: "time limit of connecting and of one operation"},
		},
		Operations: connector.FileOperations(func(id string) connector.InvokeFunc {
			return op(p, id, map[string]func(*sftp.Client, connector.Values) (any, error){
				"listFiles": list, "readFile": read, "writeFile": write, "moveFile": move, "deleteFile": remove,
			}[id])
		}),
	}
}

type badInput struct{ error }

func op(p *outbound.Policy, name string, fn func(c *sftp.Client, in connector.Values) (any, error)) func(context.Context, connector.Connection, map[string]any) (any, error) {
	return func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
		sc, c, timeout, err := dial(ctx, connector.Values(conn.Values), p)
		if err != nil {
			return nil, fail(name, err)
		}
		defer sc.Close()
		defer c.Close()
		type result struct {
			out any
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := fn(c, connector.Values(inputs))
			done <- result{out, err}
		}()
		select {
		case r := <-done:
			if r.err != nil {
				return nil, fail(name, r.err)
			}
			return r.out, nil
		case <-time.After(timeout):
			return nil, fail(name, fmt.Errorf("timed out after %s: %w", timeout, os.ErrDeadlineExceeded))
		case <-ctx.Done():
			return nil, fail(name, ctx.Err())
		}
	}
}

func fail(op string, err error) error {
	var bad badInput
	if errors.As(err, &bad) {
		return connector.BadInput(Name, op, bad.error)
	}
	ce := connector.Fail(Name, op, err)
	var se *sftp.StatusError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ce.Status, ce.Retryable = 404, false
	case errors.Is(err, fs.ErrExist):
		ce.Status, ce.Retryable = 409, false
	case errors.Is(err, fs.ErrPermission):
		ce.Status, ce.Retryable = 403, false
	case errors.As(err, &se):
		ce.Retryable = false
	case strings.Contains(err.Error(), "unable to authenticate"), strings.Contains(err.Error(), "host key"):
		ce.Retryable = false
	}
	return ce
}

func dial(ctx context.Context, v connector.Values, p *outbound.Policy) (*ssh.Client, *sftp.Client, time.Duration, error) {
	host, err := v.Required("host")
	if err != nil {
		return nil, nil, 0, badInput{err}
	}
	port, err := v.Int("port", 22)
	if err != nil || port < 1 || port > 65535 {
		return nil, nil, 0, badInput{errors.New("port must be from 1 to 65535")}
	}
	user, err := v.Required("username")
	if err != nil {
		return nil, nil, 0, badInput{err}
	}
	secs, err := v.Int("timeoutSeconds", 30)
	if err != nil || secs <= 0 {
		return nil, nil, 0, badInput{errors.New("timeoutSeconds must be a positive integer")}
	}
	timeout := time.Duration(secs) * time.Second
	cfg := &ssh.ClientConfig{User: user, Timeout: timeout}
	if pw, _ := v.String("password", ""); pw != "" {
		cfg.Auth = append(cfg.Auth, ssh.Password(pw))
	}
	if key, _ := v.String("privateKey", ""); key != "" {
		pass, _ := v.String("privateKeyPassphrase", "")
		var signer ssh.Signer
		if pass != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(pass))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(key))
		}
		if err != nil {
			return nil, nil, 0, badInput{errors.New("privateKey cannot be parsed (or its passphrase is wrong)")}
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if len(cfg.Auth) == 0 {
		return nil, nil, 0, badInput{errors.New("give a password or a privateKey")}
	}
	anyKey, _ := v.Bool("acceptAnyHostKey", false)
	switch hk, _ := v.String("hostKey", ""); {
	case hk != "":
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hk))
		if err != nil {
			return nil, nil, 0, badInput{errors.New("hostKey is not a public key line such as \"ssh-ed25519 AAAA...\"")}
		}
		cfg.HostKeyCallback = ssh.FixedHostKey(pub)
	case anyKey:
		cfg.HostKeyCallback = ssh.InsecureIgnoreHostKey()
	default:
		return nil, nil, 0, badInput{errors.New("hostKey is required (or set acceptAnyHostKey)")}
	}
	addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
	d := p.Dialer(timeout)
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, 0, err
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, nil, 0, err
	}
	_ = nc.SetDeadline(time.Time{})
	sc := ssh.NewClient(cc, chans, reqs)
	c, err := sftp.NewClient(sc)
	if err != nil {
		sc.Close()
		return nil, nil, 0, err
	}
	return sc, c, timeout, nil
}

func clean(in connector.Values, field string) (string, error) {
	p, err := in.Required(field)
	if err != nil {
		return "", badInput{err}
	}
	return path.Clean(p), nil
}

func list(c *sftp.Client, in connector.Values) (any, error) {
	folder, _ := in.String("folder", ".")
	pattern, _ := in.String("pattern", "")
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, badInput{fmt.Errorf("pattern %q: %w", pattern, err)}
		}
	}
	infos, err := c.ReadDir(folder)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, fi := range infos {
		if pattern != "" {
			if ok, _ := path.Match(pattern, fi.Name()); !ok {
				continue
			}
		}
		out = append(out, map[string]any{"name": fi.Name(), "path": path.Join(folder, fi.Name()), "size": fi.Size(),
			"modified": fi.ModTime().UTC().Format(time.RFC3339), "isFolder": fi.IsDir()})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].(map[string]any)["name"].(string) < out[j].(map[string]any)["name"].(string)
	})
	return map[string]any{"files": out}, nil
}

func read(c *sftp.Client, in connector.Values) (any, error) {
	p, err := clean(in, "path")
	if err != nil {
		return nil, err
	}
	f, err := c.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRead+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRead {
		return nil, badInput{fmt.Errorf("%s is larger than %d bytes", p, MaxRead)}
	}
	return in.ContentOutput(data), nil
}

func write(c *sftp.Client, in connector.Values) (any, error) {
	p, err := clean(in, "path")
	if err != nil {
		return nil, err
	}
	data, err := in.Content()
	if err != nil {
		return nil, badInput{err}
	}
	overwrite, err := in.Bool("overwrite", true)
	if err != nil {
		return nil, badInput{err}
	}
	if !overwrite {
		if _, err := c.Stat(p); err == nil {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrExist)
		}
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+"."+hex.EncodeToString(b)+".tmp")
	f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, err
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		f.Close()
		_ = c.Remove(tmp)
		return nil, err
	}
	if err := f.Close(); err != nil {
		_ = c.Remove(tmp)
		return nil, err
	}
	if err := rename(c, tmp, p, overwrite); err != nil {
		_ = c.Remove(tmp)
		return nil, err
	}
	return map[string]any{"size": len(data)}, nil
}

// rename moves from to to, replacing to when overwrite is set: with the
// posix-rename extension when the server has it (atomic), else by removing
// the target first.
func rename(c *sftp.Client, from, to string, overwrite bool) error {
	if !overwrite {
		return c.Rename(from, to)
	}
	if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
		return c.PosixRename(from, to)
	}
	if err := c.Remove(to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return c.Rename(from, to)
}

func move(c *sftp.Client, in connector.Values) (any, error) {
	from, err := clean(in, "from")
	if err != nil {
		return nil, err
	}
	to, err := clean(in, "to")
	if err != nil {
		return nil, err
	}
	overwrite, err := in.Bool("overwrite", false)
	if err != nil {
		return nil, badInput{err}
	}
	if _, err := c.Stat(from); err != nil {
		return nil, err
	}
	if !overwrite {
		if _, err := c.Stat(to); err == nil {
			return nil, fmt.Errorf("%s: %w", to, fs.ErrExist)
		}
	}
	if err := rename(c, from, to, overwrite); err != nil {
		return nil, err
	}
	return map[string]any{"from": from, "to": to}, nil
}

func remove(c *sftp.Client, in connector.Values) (any, error) {
	p, err := clean(in, "path")
	if err != nil {
		return nil, err
	}
	if err := c.Remove(p); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true}, nil
}
