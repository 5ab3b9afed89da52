package job

import (
	"context"
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
)

// inside joins name to dir and refuses names that leave dir, through ".."
// or a symbolic link.
func inside(dir, name string) (string, error) {
	if name == "" || name == "." {
		return "", fmt.Errorf("%q is not a file name inside the job's folder", name)
	}
	full, err := Confine(dir, name)
	if err != nil {
		return "", fmt.Errorf("%q is not a file name inside the job's folder: %w", name, err)
	}
	return full, nil
}

// pollRemote downloads the complete files of a remote SFTP folder into the
// job's local inbox, then moves each remote file to archive/ on the server
// (the local copy goes through the usual pick-up, hash and archive steps).
// remoteLogin is how to reach an SFTP server.
type remoteLogin struct {
	Address, User, Password, PrivateKey, HostKey string
}

// dialSFTP connects to an SFTP server whose host key must match the pinned
// fingerprint.
func (s *Service) dialSFTP(l remoteLogin) (*ssh.Client, *sftp.Client, error) {
	cfg := &ssh.ClientConfig{User: l.User, Timeout: 10 * time.Second}
	if l.Password != "" {
		pw, err := s.expand(l.Password)
		if err != nil {
			return nil, nil, fmt.Errorf("password: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.Password(pw))
	}
	if l.PrivateKey != "" {
		pem, err := s.expand(l.PrivateKey)
		if err != nil {
			return nil, nil, fmt.Errorf("privateKey: %w", err)
		}
		signer, err := ssh.ParsePrivateKey([]byte(pem))
		if err != nil {
			return nil, nil, fmt.Errorf("privateKey: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if l.HostKey == "" {
		return nil, nil, errors.New("hostKey: the server's host key fingerprint (SHA256:...) is required")
	}
	want := l.HostKey
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if subtle.ConstantTimeCompare([]byte(ssh.FingerprintSHA256(key)), []byte(want)) != 1 {
			return fmt.Errorf("the server's host key %s is not the expected %s", ssh.FingerprintSHA256(key), want)
		}
		return nil
	}
	nc, err := s.Outbound.Dialer(cfg.Timeout).Dial("tcp", l.Address)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", l.Address, err)
	}
	// The handshake is bounded too, so a server that accepts and stays silent
	// cannot hold a run.
	nc.SetDeadline(time.Now().Add(cfg.Timeout))
	cc, chans, reqs, err := ssh.NewClientConn(nc, l.Address, cfg)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("connect to %s: %w", l.Address, err)
	}
	nc.SetDeadline(time.Time{})
	conn := ssh.NewClient(cc, chans, reqs)
	client, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, client, nil
}

// pollRemote downloads the complete files of a remote SFTP folder into the
// job's local inbox, then moves each remote file to archive/ on the server
// (the local copy goes through the usual pick-up, hash and archive steps).
func (s *Service) pollRemote(ctx context.Context, spec *Spec) error {
	src := spec.Source
	login, err := s.sftpLogin("source", src.Connection, remoteLogin{src.Address, src.User, src.Password, src.PrivateKey, src.HostKey})
	if err != nil {
		return err
	}
	conn, client, err := s.dialSFTP(login)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer client.Close()
	remoteDir := src.Path
	if remoteDir == "" {
		remoteDir = "."
	}
	entries, err := client.ReadDir(remoteDir)
	if err != nil {
		return fmt.Errorf("list %s: %w", remoteDir, err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	local, err := s.folder(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Mode().IsRegular() || strings.HasPrefix(name, ".") || isTemp(name) {
			continue
		}
		if ok, _ := path.Match(src.Pattern, name); !ok {
			continue
		}
		c := src.Complete
		if c.Marker != "" && (strings.HasSuffix(name, c.Marker) || !names[name+c.Marker]) {
			continue
		}
		if c.MinAge > 0 && s.now().Sub(e.ModTime()) < time.Duration(c.MinAge) {
			continue
		}
		if c.StableFor > 0 && !s.remoteStable(src.Address+":"+remoteDir+"/"+name, e.Size(), e.ModTime(), time.Duration(c.StableFor)) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		remote := path.Join(remoteDir, name)
		if err := download(client, remote, filepath.Join(local, name)); err != nil {
			return fmt.Errorf("download %s: %w", remote, err)
		}
		client.Mkdir(path.Join(remoteDir, "archive"))
		target := path.Join(remoteDir, "archive", name)
		client.Remove(target)
		if err := client.Rename(remote, target); err != nil {
			return fmt.Errorf("move %s to archive/: %w", remote, err)
		}
		if c.Marker != "" {
			client.Remove(remote + c.Marker)
		}
	}
	return nil
}

func (s *Service) remoteStable(key string, size int64, mtime time.Time, d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	prev, ok := s.stable[key]
	if !ok || prev.size != size || !prev.mtime.Equal(mtime) {
		s.stable[key] = fileSeen{size: size, mtime: mtime, since: now}
		return false
	}
	if now.Sub(prev.since) < d {
		return false
	}
	delete(s.stable, key)
	return true
}

// download copies a remote file to a temporary local name and renames it
// when complete, so the local pick-up never sees half a file.
func download(c *sftp.Client, remote, local string) error {
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

// upload copies local (a file, or a folder with its files) to remoteDir on
// the server under a temporary name and renames it when complete.
func (s *Service) upload(l remoteLogin, local, remoteDir string) error {
	conn, client, err := s.dialSFTP(l)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer client.Close()
	if remoteDir == "" {
		remoteDir = "."
	}
	if err := client.MkdirAll(remoteDir); err != nil {
		return fmt.Errorf("create %s: %w", remoteDir, err)
	}
	name := filepath.Base(local)
	tmp := path.Join(remoteDir, "."+name+".tmp")
	st, err := os.Stat(local)
	if err != nil {
		return err
	}
	if st.IsDir() {
		err = filepath.Walk(local, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(local, p)
			target := path.Join(tmp, filepath.ToSlash(rel))
			if info.IsDir() {
				return client.MkdirAll(target)
			}
			return putFile(client, p, target)
		})
	} else {
		err = putFile(client, local, tmp)
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", name, err)
	}
	if err := client.Rename(tmp, path.Join(remoteDir, name)); err != nil {
		return fmt.Errorf("rename %s into place: %w", name, err)
	}
	return nil
}

func putFile(c *sftp.Client, local, remote string) error {
	in, err := os.Open(local)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := c.Create(remote)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
