package job

import (
	"context"
	"strconv"

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
