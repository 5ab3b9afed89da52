// Package sftp is the source of a job that takes files from a remote SFTP
// server: a login whose host key is pinned, through the outbound policy, and
// downloads under a temporary name, each remote file moved to archive/ once
// it is taken.
package sftp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"junction/internal/outbound"
)

// Login is how to reach an SFTP server: its address, the user with a
// password or a private key (written ${VAR}), and the server's host key
// fingerprint (SHA256:...).
type Login struct {
	Address, User, Password, PrivateKey, HostKey string
}

// Conn is an SFTP session on its SSH connection.
type Conn struct {
	*sftp.Client
	ssh *ssh.Client
}

// Close ends the session and the connection.
func (c *Conn) Close() error {
	c.Client.Close()
	return c.ssh.Close()
}

// Dial connects to an SFTP server whose host key must match the pinned
// fingerprint, through the outbound policy. expand resolves the password's
// and the private key's ${VAR} references.
func Dial(l Login, expand func(string) (string, error), policy *outbound.Policy) (*Conn, error) {
	cfg := &ssh.ClientConfig{User: l.User, Timeout: 10 * time.Second}
	if l.Password != "" {
		pw, err := expand(l.Password)
		if err != nil {
			return nil, fmt.Errorf("password: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.Password(pw))
	}
	if l.PrivateKey != "" {
		pem, err := expand(l.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("privateKey: %w", err)
		}
		signer, err := ssh.ParsePrivateKey([]byte(pem))
		if err != nil {
			return nil, fmt.Errorf("privateKey: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if l.HostKey == "" {
		return nil, errors.New("hostKey: the server's host key fingerprint (SHA256:...) is required")
	}
	want := l.HostKey
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if subtle.ConstantTimeCompare([]byte(ssh.FingerprintSHA256(key)), []byte(want)) != 1 {
			return fmt.Errorf("the server's host key %s is not the expected %s", ssh.FingerprintSHA256(key), want)
		}
		return nil
	}
	nc, err := policy.Dialer(cfg.Timeout).Dial("tcp", l.Address)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", l.Address, err)
	}
	// The handshake is bounded too, so a server that accepts and stays silent
	// cannot hold a run.
	nc.SetDeadline(time.Now().Add(cfg.Timeout))
	cc, chans, reqs, err := ssh.NewClientConn(nc, l.Address, cfg)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", l.Address, err)
	}
	nc.SetDeadline(time.Time{})
	conn := ssh.NewClient(cc, chans, reqs)
	client, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Conn{Client: client, ssh: conn}, nil
}

// Download copies a remote file to a temporary local name and renames it
// when complete, so the local pick-up never sees half a file. A local file
// of the same name is kept: the copy takes a name of its own.
func (c *Conn) Download(remote, local string) error {
	in, err := c.Open(remote)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := local + ".part"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if _, err := os.Stat(local); err == nil {
		local = strings.TrimSuffix(local, filepath.Ext(local)) + fmt.Sprintf("-%d", time.Now().UnixNano()) + filepath.Ext(local)
	}
	return os.Rename(tmp, local)
}

// Archive moves the remote file dir/name to dir/archive/, replacing a file
// archived before under the same name.
func (c *Conn) Archive(dir, name string) error {
	c.Mkdir(path.Join(dir, "archive"))
	target := path.Join(dir, "archive", name)
	c.Remove(target)
	return c.Rename(path.Join(dir, name), target)
}
