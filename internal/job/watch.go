package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	sftpsource "junction/internal/job/source/sftp"
	"junction/internal/store"
)

// tick fires due schedules and scans file sources.
func (s *Service) tick(ctx context.Context) {
	specs, err := s.AllSpecs(ctx)
	if err != nil {
		return
	}
	remote := map[string]bool{}
	for _, spec := range specs {
		if spec.Trigger.Schedule != "" {
			if err := s.fireSchedule(ctx, spec); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("job schedule", "job", spec.Name, "err", err)
			}
		}
		remote[spec.Name] = spec.Source.Type == "sftp"
		if spec.Trigger.Files {
			if err := s.scanFiles(ctx, spec); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("job file scan", "job", spec.Name, "err", err)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.polled { // jobs gone, or no longer remote
		if !remote[name] {
			delete(s.polled, name)
		}
	}
}

// fireSchedule enqueues the latest due occurrence of a job's schedule. The
// occurrence time is the run's unique occurrence key, so across restarts and
// nodes each occurrence runs once; occurrences missed while no node was up
// are folded into the next one.
func (s *Service) fireSchedule(ctx context.Context, spec *Spec) error {
	sched, err := ParseSchedule(spec.Trigger.Schedule, spec.Trigger.Timezone)
	if err != nil {
		return err
	}
	now := s.now()
	var last int64
	err = s.cfg.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT last FROM batch_schedules WHERE job = ?", spec.Name).Scan(&last)
	})
	if errors.Is(err, store.ErrNotFound) {
		// First sight of this schedule: start counting from now.
		return s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO batch_schedules (job, last) VALUES (?, ?) ON CONFLICT (job) DO NOTHING", spec.Name, store.Micros(now))
			return err
		})
	}
	if err != nil {
		return err
	}
	next := sched.Next(store.FromMicros(last))
	if next.After(now) {
		return nil
	}
	due := next
	for i := 0; i < 100000; i++ { // the latest occurrence not after now
		n := sched.Next(due)
		if n.After(now) {
			break
		}
		due = n
	}
	occurrence := "schedule:" + due.UTC().Format(time.RFC3339Nano)
	_, err = enqueue(ctx, s.cfg.Store, spec.Name, "schedule", occurrence, "", now)
	if err != nil && !errors.Is(err, ErrDuplicate) {
		return err
	}
	if err == nil {
		s.poke()
	}
	return s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE batch_schedules SET last = ? WHERE job = ? AND last < ?", store.Micros(due), spec.Name, store.Micros(due))
		return err
	})
}

// scanFiles enqueues one run per complete file in a job's folder whose
// content has not been seen before; a file whose bytes were already
// processed is moved to archive/ with a report saying so.
func (s *Service) scanFiles(ctx context.Context, spec *Spec) error {
	if spec.Source.Type == "sftp" && s.duePoll(spec) {
		if err := s.pollRemote(ctx, spec); err != nil {
			return err
		}
	}
	dir, err := s.folder(spec.Source)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			s.files.forget(dir, nil)
			return nil
		}
		return err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	s.files.forget(dir, names)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if ok, _ := path.Match(spec.Source.Pattern, name); !ok || strings.HasPrefix(name, ".") || isTemp(name) ||
			strings.HasSuffix(name, ".report.json") || (spec.Source.Complete.Marker != "" && strings.HasSuffix(name, spec.Source.Complete.Marker)) {
			continue
		}
		full := filepath.Join(dir, name)
		if !s.complete(spec, full, names) {
			continue
		}
		sum, err := fileHash(full)
		if err != nil {
			continue
		}
		if s.inFlight(ctx, full) {
			continue
		}
		id, err := s.Enqueue(ctx, spec.Name, "file", "file:"+sum, full)
		if errors.Is(err, ErrDuplicate) {
			s.duplicate(ctx, spec, full, id)
			continue
		}
		if err != nil {
			return err
		}
		if m := spec.Source.Complete.Marker; m != "" {
			os.Remove(full + m)
		}
		s.cfg.Logger.Info("file picked up", "job", spec.Name, "file", full, "run", id)
	}
	return nil
}

// duePoll says whether a remote source's poll interval has passed.
func (s *Service) duePoll(spec *Spec) bool {
	every := time.Duration(spec.Trigger.Poll)
	if every <= 0 {
		every = 30 * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if last, ok := s.polled[spec.Name]; ok && now.Sub(last) < every {
		return false
	}
	s.polled[spec.Name] = now
	return true
}

func isTemp(name string) bool {
	for _, suf := range TempSuffixes {
		if strings.HasSuffix(strings.ToLower(name), suf) {
			return true
		}
	}
	return false
}

// complete applies the job's completion rule to a file.
func (s *Service) complete(spec *Spec, full string, names map[string]bool) bool {
	c := spec.Source.Complete
	st, err := os.Stat(full)
	if err != nil {
		return false
	}
	now := s.now()
	if c.Marker != "" && !names[filepath.Base(full)+c.Marker] {
		return false
	}
	if c.MinAge > 0 && now.Sub(st.ModTime()) < time.Duration(c.MinAge) {
		return false
	}
	return c.StableFor <= 0 || s.files.stable(filepath.Dir(full), filepath.Base(full), st.Size(), st.ModTime(), now, time.Duration(c.StableFor))
}

// settling holds the files that wait to be complete by the stableFor rule:
// their size and time when first seen so, and since when. A file is
// forgotten when it is found complete, and when a listing of its folder no
// longer has it, so only files still waiting are held.
type settling struct {
	mu    sync.Mutex
	files map[settleKey]fileSeen
}

// settleKey names a file: its folder (a local path, or the address and
// folder of a remote server) and its name.
type settleKey struct{ folder, name string }

type fileSeen struct {
	size  int64
	mtime time.Time
	since time.Time
}

// stable reports whether the file kept its size and time for at least d up
// to now.
func (t *settling) stable(folder, name string, size int64, mtime, now time.Time, d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := settleKey{folder, name}
	prev, ok := t.files[k]
	if !ok || prev.size != size || !prev.mtime.Equal(mtime) {
		if t.files == nil {
			t.files = map[settleKey]fileSeen{}
		}
		t.files[k] = fileSeen{size: size, mtime: mtime, since: now}
		return false
	}
	if now.Sub(prev.since) < d {
		return false
	}
	delete(t.files, k)
	return true
}

// forget drops the files of folder that its listing has not.
func (t *settling) forget(folder string, listed map[string]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.files {
		if k.folder == folder && !listed[k.name] {
			delete(t.files, k)
		}
	}
}

// len is how many files wait.
func (t *settling) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.files)
}

// pollRemote downloads the complete files of a remote SFTP folder into the
// job's local inbox, then moves each remote file to archive/ on the server
// (the local copy goes through the usual pick-up, hash and archive steps).
func (s *Service) pollRemote(ctx context.Context, spec *Spec) error {
	src := spec.Source
	login, err := s.sftpLogin("source", src.Connection, sftpsource.Login{Address: src.Address, User: src.User, Password: src.Password, PrivateKey: src.PrivateKey, HostKey: src.HostKey})
	if err != nil {
		return err
	}
	conn, err := s.dialSFTP(login)
	if err != nil {
		return err
	}
	defer conn.Close()
	remoteDir := src.Path
	if remoteDir == "" {
		remoteDir = "."
	}
	entries, err := conn.ReadDir(remoteDir)
	if err != nil {
		return fmt.Errorf("list %s: %w", remoteDir, err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	settled := login.Address + ":" + remoteDir
	s.files.forget(settled, names)
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
		now := s.now()
		if c.MinAge > 0 && now.Sub(e.ModTime()) < time.Duration(c.MinAge) {
			continue
		}
		if c.StableFor > 0 && !s.files.stable(settled, name, e.Size(), e.ModTime(), now, time.Duration(c.StableFor)) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		remote := path.Join(remoteDir, name)
		if err := conn.Download(remote, filepath.Join(local, name)); err != nil {
			return fmt.Errorf("download %s: %w", remote, err)
		}
		if err := conn.Archive(remoteDir, name); err != nil {
			return fmt.Errorf("move %s to archive/: %w", remote, err)
		}
		if c.Marker != "" {
			conn.Remove(remote + c.Marker)
		}
	}
	return nil
}

// inFlight reports whether a queued or running run already has this path.
func (s *Service) inFlight(ctx context.Context, full string) bool {
	n := 0
	s.cfg.Store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT COUNT(*) FROM batch_runs WHERE file = ? AND status IN (?, ?)", full, StatusQueued, StatusRunning).Scan(&n)
	})
	return n > 0
}

func (s *Service) duplicate(ctx context.Context, spec *Spec, full string, previous int64) {
	prev, _ := getRun(ctx, s.cfg.Store, spec.Name, previous)
	if prev.Status == StatusQueued || prev.Status == StatusRunning {
		return
	}
	moveDuplicate(full, previous)
	s.cfg.Logger.Info("file skipped: the same bytes were processed before", "job", spec.Name, "file", full, "run", previous)
}

func moveDuplicate(full string, previous int64) {
	dir, err := Confine(filepath.Dir(full), "archive")
	if err != nil {
		return
	}
	os.MkdirAll(dir, 0o755)
	target := filepath.Join(dir, fmt.Sprintf("duplicate-%d-%s", time.Now().UnixNano(), filepath.Base(full)))
	if os.Rename(full, target) == nil {
		os.WriteFile(target+".report.json", []byte(fmt.Sprintf("{\n  \"status\": \"duplicate\",\n  \"message\": \"the same content was processed by run %d; nothing was done\",\n  \"run\": %d\n}\n", previous, previous)), 0o644)
	}
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
