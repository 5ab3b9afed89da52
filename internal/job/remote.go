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

// inside joins name to dir and refuses names that leave dir.
func inside(dir, name string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("%q is not a file name inside the job's folder", name)
	}
	return filepath.Join(dir, filepath.FromSlash(name)), nil
}

// pollRemote downloads the complete files of a remote SFTP folder into the
// job's local inbox, then moves each remote file to archive/ on the server
// (the local copy goes through the usual pick-up, hash and archive steps).
func (s *Service) pollRemote(ctx context.Context, spec *Spec) error {
	src := spec.Source
	cfg := &ssh.ClientConfig{User: src.User, Timeout: 10 * time.Second}
	if src.Password != "" {
		pw, err := s.expand(src.Password)
		if err != nil {
			return fmt.Errorf("source.password: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.Password(pw))
	}
	if src.PrivateKey != "" {
		pem, err := s.expand(src.PrivateKey)
		if err != nil {
			return fmt.Errorf("source.privateKey: %w", err)
		}
		signer, err := ssh.ParsePrivateKey([]byte(pem))
		if err != nil {
			return fmt.Errorf("source.privateKey: %w", err)
		}
		cfg.Auth = append(cfg.Auth, ssh.PublicKeys(signer))
	}
	if src.HostKey == "" {
		return errors.New("source.hostKey: the server's host key fingerprint (SHA256:...) is required")
	}
	want := src.HostKey
	cfg.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if subtle.ConstantTimeCompare([]byte(ssh.FingerprintSHA256(key)), []byte(want)) != 1 {
			return fmt.Errorf("the server's host key %s is not the expected %s", ssh.FingerprintSHA256(key), want)
		}
		return nil
	}
	conn, err := ssh.Dial("tcp", src.Address, cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", src.Address, err)
	}
	defer conn.Close()
	client, err := sftp.NewClient(conn)
	if err != nil {
		return err
	}
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
