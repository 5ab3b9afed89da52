package job

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"junction/internal/changelog"
	"junction/internal/store"
)

// readsChanges reports whether the job reads a Junction table's changes
// from the change log (a table source with delta: true).
func readsChanges(spec *Spec) bool {
	return spec != nil && spec.Source.Type == "table" && spec.Source.Delta
}

// cursorName is the change-log cursor that mirrors a delta job's watermark,
// so that retention keeps the changes its next run reads.
func cursorName(job string) string { return "job:" + job }

// holdChanges places the job's cursor at its new watermark, in the
// transaction that stores the watermark.
func holdChanges(ctx context.Context, tx store.Tx, job, watermark string) error {
	seq, err := strconv.ParseInt(watermark, 10, 64)
	if err != nil {
		return nil // not a change-log position: nothing to hold
	}
	return changelog.SetCursor(ctx, tx, cursorName(job), seq)
}

// releaseChanges drops the job's cursor: its watermark was forgotten or the
// job deleted, so it no longer holds the change log back.
func releaseChanges(ctx context.Context, tx store.Tx, job string) error {
	return changelog.DropCursor(ctx, tx, cursorName(job))
}

// unexpired returns the watermark a run starts from: from itself, or ""
// (a full export, as the first run does) when retention deleted changes
// after it — the job stayed idle longer than --retain-changes-max, or its
// watermark predates its cursor.
func (s *Service) unexpired(ctx context.Context, spec *Spec, from string) (string, error) {
	if !readsChanges(spec) || from == "" {
		return from, nil
	}
	seq, err := strconv.ParseInt(from, 10, 64)
	if err != nil {
		return from, nil // OpenChanges reports it
	}
	var expired bool
	err = s.cfg.Store.Read(ctx, func(q store.Querier) error {
		var err error
		expired, err = changelog.Expired(ctx, q, seq)
		return err
	})
	if err != nil || !expired {
		return from, err
	}
	s.cfg.Logger.Warn("job: the change log was trimmed past the job's watermark; this run exports the table in full",
		"job", spec.Name, "watermark", from)
	return "", nil
}

// releaseRemoved drops the change-log cursors of jobs that are neither in
// the project nor saved through the API: a delta job removed from the
// project files no longer holds the change log back, nor stands as a lost
// reader once retention passes it.
func (s *Service) releaseRemoved(ctx context.Context) error {
	s.mu.Lock()
	inProject := make(map[string]bool, len(s.project))
	for name := range s.project {
		inProject[name] = true
	}
	s.mu.Unlock()
	return s.cfg.Store.Tx(ctx, func(tx store.Tx) error {
		cursors, err := changelog.Cursors(ctx, tx)
		if err != nil {
			return err
		}
		for _, c := range cursors {
			name, ok := strings.CutPrefix(c.Name, cursorName(""))
			if !ok || inProject[name] {
				continue
			}
			var one int
			err := tx.QueryRow(ctx, "SELECT 1 FROM batch_jobs WHERE name = ?", name).Scan(&one)
			switch {
			case err == nil:
				continue // saved through the API
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			if err := changelog.DropCursor(ctx, tx, c.Name); err != nil {
				return err
			}
		}
		return nil
	})
}
