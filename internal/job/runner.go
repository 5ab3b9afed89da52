package job

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"junction/internal/job/format"
	"junction/internal/job/sink"
	"junction/internal/store"
	"junction/internal/trace"
)

// maxStoredRejects caps the rejects file kept in the store.
const maxStoredRejects = 16 << 20

var rejectsHeader = []string{"line", "column", "reason", "value"}

// rejectsWriter writes the rejects CSV (line, column, reason, value) to a
// temporary file, so that any number of rejects costs no memory.
type rejectsWriter struct {
	f *os.File
	w *csv.Writer
	n int64
}

func newRejectsWriter(dir string) (*rejectsWriter, error) {
	f, err := os.CreateTemp(dir, "rejects-*.csv")
	if err != nil {
		return nil, err
	}
	w := csv.NewWriter(f)
	w.Write(rejectsHeader)
	return &rejectsWriter{f: f, w: w}, nil
}

func (r *rejectsWriter) add(rs []Reject) {
	for _, x := range rs {
		r.w.Write(rejectRecord(x))
		r.n++
	}
}

// rejectRecord is the reject as a line of the rejects file.
func rejectRecord(r Reject) []string {
	return []string{strconv.FormatInt(r.Line, 10), r.Column, r.Reason, r.Value}
}

// bytes returns the file's content, truncated to the cap with a last line
// saying so.
func (r *rejectsWriter) bytes() ([]byte, error) {
	r.w.Flush()
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r.f, maxStoredRejects))
	if err != nil {
		return nil, err
	}
	if st, _ := r.f.Stat(); st != nil && st.Size() > maxStoredRejects {
		b = b[:bytes.LastIndexByte(b, '\n')+1]
		b = append(b, []byte(",,the rejects file was cut at 16 MiB,\n")...)
	}
	return b, nil
}

func (r *rejectsWriter) close() {
	r.f.Close()
	os.Remove(r.f.Name())
}

// runState is one attempt at a run.
type runState struct {
	svc     *Service
	run     Run
	spec    *Spec
	broke   bool // the spec broke the admin's rules: its file is not touched
	owner   string
	rejects *rejectsWriter
	rec     reconciler
	counts  Counts
	read    int64
	bad     int64 // rows with at least one reject
	// Rows the sink refused while applying: all of this attempt's and the
	// earlier attempts' (kept with each checkpoint, so that a resumed run
	// that skips the chunks they were in still reports them), and those not
	// yet kept.
	refusals []Reject
	unsaved  []Reject
	earlier  map[int64][]Reject
}

// rowFailure ends a run with a message about the input.
type rowFailure struct{ msg string }

func (e *rowFailure) Error() string { return e.msg }

func (st *runState) policyAllows() (bool, string) {
	p := st.spec.Policy
	if st.bad == 0 {
		return true, ""
	}
	if p.OnError == "reject-all" {
		return false, fmt.Sprintf("%d of %d rows were rejected and the policy is reject-all: nothing was applied", st.bad, st.read)
	}
	if p.MaxErrors > 0 && st.bad > p.MaxErrors {
		return false, fmt.Sprintf("%d rows were rejected, more than the %d allowed: nothing was applied", st.bad, p.MaxErrors)
	}
	if p.MaxErrorPercent > 0 && st.read > 0 && float64(st.bad)*100/float64(st.read) > p.MaxErrorPercent {
		return false, fmt.Sprintf("%d of %d rows (%.2f%%) were rejected, more than the %.2f%% allowed: nothing was applied",
			st.bad, st.read, float64(st.bad)*100/float64(st.read), p.MaxErrorPercent)
	}
	return true, ""
}

func (st *runState) twoPass() bool {
	p := st.spec.Policy
	return p.OnError == "reject-all" || p.MaxErrors > 0 || p.MaxErrorPercent > 0
}

// execute carries out a claimed run to its end and records the outcome.
// When parent ends (the service stops), the run stops where it is and its
// outcome is not recorded: the lease expires and the run resumes.
func (s *Service) execute(parent context.Context, run Run) {
	ctx, cancel := context.WithCancel(withRun(parent, run.Job, run.ID))
	defer cancel()
	ctx, span := s.cfg.Tracer.BeginFrom(ctx, run.Trace, "Jobs", "job "+run.Job)
	span.Kind(trace.KindConsumer).Set("junction.job", run.Job).Set("junction.job_run", strconv.FormatInt(run.ID, 10)).Set("junction.trigger", run.Trigger)
	st := &runState{svc: s, run: run, owner: s.cfg.NodeID}
	hbDone := make(chan struct{})
	go func() { // renew the lease while the run goes on
		defer close(hbDone)
		t := time.NewTicker(s.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				err := s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
					return fenced(ctx, tx, &st.run, st.owner, "lease_until = "+tx.Dialect().NowExpr()+" + ?", s.cfg.LeaseTTL.Microseconds())
				})
				if errors.Is(err, errLeaseLost) {
					s.cfg.Logger.Warn("job run lease lost", "job", run.Job, "run", run.ID)
					cancel()
					return
				}
			}
		}
	}()
	status, msg, err := st.perform(ctx)
	defer func() {
		if st.rejects != nil {
			st.rejects.close()
		}
	}()
	cancel()
	<-hbDone
	if errors.Is(err, errLeaseLost) || parent.Err() != nil {
		return // another node has it, or this node stops: the lease expires and the run resumes
	}
	if err != nil {
		status, msg = StatusFailed, err.Error()
	}
	span.Set("junction.status", status)
	if status == StatusSucceeded {
		span.End(nil)
	} else {
		span.Fail(status + ": " + msg)
	}
	if ferr := st.finish(context.WithoutCancel(ctx), status, msg); ferr != nil {
		s.cfg.Logger.Error("record job run outcome", "job", run.Job, "run", run.ID, "err", ferr)
	}
}

func (st *runState) perform(ctx context.Context) (status, msg string, err error) {
	s := st.svc
	spec, ok := s.Spec(st.run.Job)
	if !ok {
		return StatusFailed, "the job no longer exists", nil
	}
	st.spec = spec
	// Checked again at every run: a job saved by another key, or before
	// the rule existed, runs only by connections and drop zones.
	if !spec.byAdmin && !s.isProjectJob(spec.Name) {
		if ps := spec.adminOnly(); len(ps) > 0 {
			st.broke = true
			return StatusFailed, fmt.Sprintf("%s (the job was not saved with the admin key; save it again with connections and drop zones)", ps[0]), nil
		}
	}
	if st.run.Phase != "" && spec.Source.Type == "dataverse" {
		if _, err := os.Stat(s.spoolPath(st.run.ID)); err != nil {
			// The rows the earlier attempt read from the org are gone with its
			// node; a new read may differ, so its checkpoint means nothing:
			// start again (rows upsert by key).
			if err := st.restart(ctx); err != nil {
				return "", "", err
			}
		}
	}
	st.counts = st.run.Counts
	st.read, st.bad = st.run.Read, st.run.Rejected
	if st.rejects, err = newRejectsWriter(s.tmpDir()); err != nil {
		return "", "", err
	}
	if st.run.Phase == "applying" { // a resumed run keeps the rejects found so far
		if err := st.loadRejects(ctx); err != nil {
			return "", "", err
		}
	}
	from := st.run.WatermarkFrom
	if st.run.Phase == "" {
		if from, err = watermarkOf(ctx, s.cfg.Store, spec.Name); err != nil {
			return "", "", err
		}
		if from, err = s.unexpired(ctx, spec, from); err != nil {
			return "", "", err
		}
	}
	open, err := s.opener(spec, st.run)
	if err != nil {
		return "", "", err
	}
	pin := st.run.WatermarkTo
	if st.twoPass() && st.run.Phase != "applying" {
		if err := st.setPhase(ctx, "validating", from, ""); err != nil {
			return "", "", err
		}
		resolver, closeResolver, err := s.resolver(ctx, spec)
		if err != nil {
			return "", "", err
		}
		pin, err = st.pass(ctx, open, from, "", resolver, nil, true)
		closeResolver()
		if err != nil {
			var rf *rowFailure
			if errors.As(err, &rf) {
				return StatusFailed, rf.msg + " (nothing was applied)", nil
			}
			return "", "", err
		}
		if ok, why := st.policyAllows(); !ok {
			return StatusRejected, why, nil
		}
		if err := st.saveRejects(ctx); err != nil {
			return "", "", err
		}
		if err := st.setPhase(ctx, "applying", from, pin); err != nil {
			return "", "", err
		}
	} else if st.run.Phase == "" {
		if err := st.setPhase(ctx, "applying", from, ""); err != nil {
			return "", "", err
		}
	}
	out, err := s.openSink(ctx, spec, st.run)
	if err != nil {
		return "", "", fmt.Errorf("open the sink: %w", err)
	}
	wm, err := st.pass(ctx, open, from, pin, out, out, false)
	if err != nil {
		out.Abort()
		var rf *rowFailure
		if errors.As(err, &rf) {
			return StatusFailed, rf.msg, nil
		}
		return "", "", err
	}
	if !st.twoPass() {
		if ok, why := st.policyAllows(); !ok { // cannot happen with no threshold, kept for clarity
			out.Abort()
			return StatusRejected, why, nil
		}
	}
	target, err := out.Finish(ctx)
	if err != nil {
		return "", "", fmt.Errorf("finish the sink: %w", err)
	}
	if target != nil {
		st.rec.r.Method = "read-back"
		if target.Rows < 0 { // Parquet: rows only
			st.rec.r.Method = "row-count"
			st.rec.target = sink.Tally{Rows: -target.Rows, Sum: st.rec.source.Sum}
		} else {
			st.rec.target = *target
		}
	}
	if wm == "" {
		wm = from
	}
	st.run.WatermarkTo = wm
	return StatusSucceeded, "", nil
}

// restart forgets what earlier attempts of the run did.
func (st *runState) restart(ctx context.Context) error {
	st.run.Phase, st.run.Checkpoint, st.run.Counts, st.run.Read, st.run.Rejected = "", 0, Counts{}, 0, 0
	return st.svc.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM batch_run_files WHERE run_id = ?", st.run.ID); err != nil {
			return err
		}
		return fenced(ctx, tx, &st.run, st.owner, `phase = '', checkpoint = 0, rows_read = 0, rows_rejected = 0, rows_inserted = 0,
			rows_updated = 0, rows_unchanged = 0, rows_deleted = 0, watermark_to = ''`)
	})
}

func (st *runState) setPhase(ctx context.Context, phase, from, pin string) error {
	st.run.Phase, st.run.WatermarkFrom, st.run.WatermarkTo = phase, from, pin
	return st.svc.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		return fenced(ctx, tx, &st.run, st.owner, "phase = ?, watermark_from = ?, watermark_to = ?, rows_read = ?, rows_rejected = ?",
			phase, from, pin, st.read, st.bad)
	})
}

func (st *runState) saveRejects(ctx context.Context) error {
	if st.rejects.n == 0 {
		return nil
	}
	b, err := st.rejects.bytes()
	if err != nil {
		return err
	}
	return st.svc.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM batch_run_files WHERE run_id = ? AND name = 'rejects.csv'", st.run.ID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO batch_run_files (run_id, name, content) VALUES (?, 'rejects.csv', ?)", st.run.ID, b)
		return err
	})
}

// loadRejects puts the rejects file an earlier attempt saved back into the
// writer, and takes the rows the sink refused in the chunks it applied.
func (st *runState) loadRejects(ctx context.Context) error {
	saved, err := st.runFileRejects(ctx, "rejects.csv")
	if err != nil {
		return err
	}
	st.rejects.add(saved)
	if st.refusals, err = st.runFileRejects(ctx, "refused.csv"); err != nil {
		return err
	}
	st.earlier = map[int64][]Reject{}
	for _, r := range st.refusals {
		st.earlier[r.Line] = append(st.earlier[r.Line], r)
	}
	return nil
}

// refusedBefore returns the earlier attempts' refusals of the rows of chunk.
func (st *runState) refusedBefore(chunk []Row) []Reject {
	var out []Reject
	for _, r := range chunk {
		out = append(out, st.earlier[r.Line]...)
	}
	return out
}

func (st *runState) runFileRejects(ctx context.Context, name string) ([]Reject, error) {
	var b []byte
	err := st.svc.cfg.Store.Read(ctx, func(q store.Querier) error {
		err := q.QueryRow(ctx, "SELECT content FROM batch_run_files WHERE run_id = ? AND name = ?", st.run.ID, name).Scan(&b)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil || len(b) == 0 {
		return nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read the saved %s: %w", name, err)
	}
	var out []Reject
	for _, rec := range recs[1:] {
		if len(rec) < 4 {
			continue
		}
		line, _ := strconv.ParseInt(rec[0], 10, 64)
		out = append(out, Reject{Line: line, Column: rec[1], Reason: rec[2], Value: rec[3]})
	}
	return out, nil
}

// encodeRejects writes rejects as the rejects file's CSV.
func encodeRejects(rs []Reject) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(rejectsHeader)
	for _, r := range rs {
		w.Write(rejectRecord(r))
	}
	w.Flush()
	return b.Bytes()
}

// pass reads the whole source once. With validateOnly it counts and records
// rejects; otherwise it applies good rows to sink in chunks, skipping chunks
// an earlier attempt committed, and checkpoints after each.
func (st *runState) pass(ctx context.Context, open sourceOpener, from, pin string, resolver Resolver, out writer, validateOnly bool) (string, error) {
	r, err := open(ctx, from, pin)
	if err != nil {
		return "", fmt.Errorf("open the source: %w", err)
	}
	defer r.Close()
	schema, err := st.svc.schema(st.spec)
	if err != nil {
		return "", err
	}
	m, err := newMapper(st.spec, r.Columns(), schema, resolver)
	if err != nil {
		return "", err
	}
	recordRejects := validateOnly || !st.twoPass()
	// A sink that checks rows is asked about each one, except in an apply
	// pass after a validation pass that found nothing wrong.
	chk, _ := resolver.(rowChecker)
	if !recordRejects && st.bad == 0 {
		chk = nil
	}
	if recordRejects {
		st.read, st.bad = 0, 0
	}
	items := readItems(ctx, r, m, !m.looksUp())
	defer items.stop()
	var chunk []Row
	// done counts the source items handled, in order: applied, rejected, or
	// held for a chunk. A checkpoint says how many a resumed run skips.
	var done int64
	lastSave := time.Now()
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if done > st.run.Checkpoint {
			c, refused, err := out.Apply(ctx, chunk)
			if err != nil {
				return fmt.Errorf("write the chunk of source lines %d to %d: %w", chunk[0].Line, chunk[len(chunk)-1].Line, err)
			}
			st.counts.Add(c)
			if len(refused) > 0 {
				chunk = st.refused(chunk, refused, true)
				st.unsaved = append(st.unsaved, refused...)
				if ok, why := st.policyAllows(); !ok {
					return &rowFailure{fmt.Sprintf("the sink refused rows: %s; the rows it took up to line %d were applied", strings.TrimSuffix(why, ": nothing was applied"), chunk[len(chunk)-1].Line)}
				}
			}
		} else if rs := st.refusedBefore(chunk); len(rs) > 0 {
			// Applied by an earlier attempt, which the sink refused rows of.
			chunk = st.refused(chunk, rs, !st.twoPass())
		}
		if err := st.verify(ctx, out, m, chunk); err != nil {
			return err
		}
		chunk = chunk[:0]
		if done <= st.run.Checkpoint {
			return nil
		}
		st.run.Checkpoint = done
		lastSave = time.Now()
		return st.checkpoint(ctx, items.progress)
	}
	// admit takes one source item's outcome: its rejects, or its row for the
	// next chunk (row is nil for an item that could not be read).
	admit := func(row *Row, rejects []Reject) error {
		done++
		if recordRejects {
			st.read++
			if len(rejects) > 0 {
				st.bad++
				st.rejects.add(rejects)
			}
		}
		if row == nil || len(rejects) > 0 || validateOnly {
			if validateOnly && time.Since(lastSave) > time.Second {
				lastSave = time.Now()
				st.progress(ctx, items.progress/2)
			}
			return nil
		}
		chunk = append(chunk, *row)
		if len(chunk) >= st.spec.Chunk {
			return flush()
		}
		return nil
	}
	// Rows for a checking sink wait in pending, to be checked together in one
	// read; anything else admitted meanwhile waits behind them, in order.
	var pending []Row
	checkBatch := min(st.spec.Chunk, 500)
	drain := func() error {
		if len(pending) == 0 {
			return nil
		}
		rejects, err := checkRows(ctx, chk, pending)
		if err != nil {
			return err
		}
		for i := range pending {
			if err := admit(&pending[i], rejects[i]); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		it, err := items.next()
		if err != nil {
			return "", err
		}
		if it.err == io.EOF {
			break
		}
		err, deleted := it.err, it.deleted
		var fe *format.Error
		if errors.As(err, &fe) && !fe.Fatal {
			if err := drain(); err != nil {
				return "", err
			}
			if err := admit(nil, []Reject{{Line: fe.Line, Column: fe.Column, Reason: fe.Msg}}); err != nil {
				return "", err
			}
			continue
		}
		if fe != nil {
			return "", &rowFailure{fe.Error()}
		}
		if err != nil {
			return "", fmt.Errorf("read the source: %w", err)
		}
		if it.mapErr != nil {
			return "", it.mapErr
		}
		row, rejects := it.row, it.rejects
		if len(rejects) == 0 && !deleted && chk != nil {
			if pending = append(pending, row); len(pending) >= checkBatch {
				if err := drain(); err != nil {
					return "", err
				}
			}
			continue
		}
		if err := drain(); err != nil {
			return "", err
		}
		if err := admit(&row, rejects); err != nil {
			return "", err
		}
	}
	if err := drain(); err != nil {
		return "", err
	}
	if !validateOnly {
		if err := flush(); err != nil {
			return "", err
		}
	}
	return r.Watermark(), nil
}

// refused records the rows a sink refused as rejects (counting them unless
// count is false: a resumed two-pass run has them counted) and returns the
// chunk without them, for the reconciliation.
func (st *runState) refused(chunk []Row, rejects []Reject, count bool) []Row {
	st.rejects.add(rejects)
	lines := map[int64]bool{}
	for _, r := range rejects {
		if !lines[r.Line] {
			lines[r.Line] = true
			if count {
				st.bad++
			}
		}
	}
	kept := chunk[:0]
	for _, r := range chunk {
		if !lines[r.Line] {
			kept = append(kept, r)
		}
	}
	return kept
}

// verify reads the chunk back from the sink and adds it to the reconciliation.
func (st *runState) verify(ctx context.Context, out writer, m *mapper, chunk []Row) error {
	// Each row's checksum was taken as it was mapped (itemReader).
	chunk = sink.Dedupe(m.key, chunk)
	hashes := make([]keyHash, 0, len(chunk))
	for _, r := range chunk {
		if r.Deleted {
			st.rec.r.Deletes++
			continue
		}
		hashes = append(hashes, keyHash{sink.KeyOf(m.key, r.Values), r.Sum})
	}
	got, ok, err := out.Verify(ctx, chunk)
	if err != nil {
		return fmt.Errorf("reconcile: read back: %w", err)
	}
	if !ok {
		for _, h := range hashes {
			st.rec.source.Add(h.key, h.hash)
		}
		return nil
	}
	st.rec.r.Method = "per-key"
	st.rec.chunk(chunk, m.key, hashes, got)
	return nil
}

func (st *runState) checkpoint(ctx context.Context, progress float64) error {
	if st.twoPass() && progress >= 0 {
		progress = 0.5 + progress/2
	}
	c := st.counts
	var refused []byte
	if len(st.unsaved) > 0 {
		st.refusals = append(st.refusals, st.unsaved...)
		st.unsaved = nil
		refused = encodeRejects(st.refusals)
	}
	return st.svc.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		if refused != nil {
			if _, err := tx.Exec(ctx, "DELETE FROM batch_run_files WHERE run_id = ? AND name = 'refused.csv'", st.run.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO batch_run_files (run_id, name, content) VALUES (?, 'refused.csv', ?)", st.run.ID, refused); err != nil {
				return err
			}
		}
		return fenced(ctx, tx, &st.run, st.owner, `checkpoint = ?, rows_read = ?, rows_rejected = ?, rows_inserted = ?, rows_updated = ?,
			rows_unchanged = ?, rows_deleted = ?, progress = ?, lease_until = `+tx.Dialect().NowExpr()+` + ?`,
			st.run.Checkpoint, st.read, st.bad, c.Inserted, c.Updated, c.Unchanged, c.Deleted, progress, st.svc.cfg.LeaseTTL.Microseconds())
	})
}

func (st *runState) progress(ctx context.Context, p float64) {
	st.svc.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		return fenced(ctx, tx, &st.run, st.owner, "progress = ?, rows_read = ?, rows_rejected = ?", p, st.read, st.bad)
	})
}

// finish records the outcome, advances the watermark on success, and moves
// a picked-up file to archive/ or error/ with its report beside it.
func (st *runState) finish(ctx context.Context, status, msg string) error {
	s := st.svc
	var recJSON string
	if status == StatusSucceeded {
		rec := st.rec.result()
		if rec.Method == "" {
			rec.Method = "per-key"
		}
		b, _ := json.Marshal(rec)
		recJSON = string(b)
		st.run.Reconciliation = rec
	}
	if st.rejects != nil {
		if err := st.saveRejects(ctx); err != nil {
			return err
		}
	}
	os.Remove(s.spoolPath(st.run.ID))
	now := s.now()
	c := st.counts
	progress := 1.0
	if status != StatusSucceeded {
		progress = st.run.Progress
	}
	err := s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM batch_run_files WHERE run_id = ? AND name = 'refused.csv'", st.run.ID); err != nil {
			return err
		}
		if err := fenced(ctx, tx, &st.run, st.owner, `status = ?, error = ?, ended_at = ?, rows_read = ?, rows_rejected = ?,
			rows_inserted = ?, rows_updated = ?, rows_unchanged = ?, rows_deleted = ?, reconciliation = ?, watermark_to = ?, progress = ?, lease_until = 0`,
			status, msg, store.Micros(now), st.read, st.bad, c.Inserted, c.Updated, c.Unchanged, c.Deleted, recJSON, st.run.WatermarkTo, progress); err != nil {
			return err
		}
		if status == StatusSucceeded && st.run.WatermarkTo != "" {
			_, err := tx.Exec(ctx, `INSERT INTO batch_watermarks (job, value, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (job) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, st.run.Job, st.run.WatermarkTo, store.Micros(now))
			if err != nil || !readsChanges(st.spec) {
				return err
			}
			return holdChanges(ctx, tx, st.run.Job, st.run.WatermarkTo)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if st.run.File != "" && !st.broke && (st.spec == nil || !st.spec.Source.Leave) {
		final, _ := getRun(ctx, s.cfg.Store, st.run.Job, st.run.ID)
		moveProcessed(st.run.File, status == StatusSucceeded, final)
	}
	s.cfg.Logger.Info("job run ended", "job", st.run.Job, "run", st.run.ID, "status", status, "read", st.read, "rejected", st.bad,
		"inserted", c.Inserted, "updated", c.Updated, "unchanged", c.Unchanged, "error", msg)
	return nil
}

// moveProcessed moves a file to archive/ (success) or error/ beside it and
// writes NAME.report.json next to it.
func moveProcessed(path string, ok bool, run Run) {
	if _, err := os.Stat(path); err != nil {
		return
	}
	sub := "error"
	if ok {
		sub = "archive"
	}
	// The folder stays inside the source's: a link named archive or error
	// leading elsewhere is not followed.
	dir, err := Confine(filepath.Dir(path), sub)
	if err != nil {
		return
	}
	os.MkdirAll(dir, 0o755)
	name := filepath.Base(path)
	target := filepath.Join(dir, name)
	if _, err := os.Stat(target); err == nil {
		target = filepath.Join(dir, fmt.Sprintf("%d-%s", run.ID, name))
	}
	if err := os.Rename(path, target); err != nil {
		return
	}
	b, _ := json.MarshalIndent(run, "", "  ")
	os.WriteFile(target+".report.json", b, 0o644)
}
