package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// incrementalAutoVacuum puts the database file in incremental auto-vacuum
// mode, in which deleted rows' pages can be given back to the disk a few at a
// time (PRAGMA incremental_vacuum, which package retention runs on a schedule
// and when idle) without rewriting the file. A new file takes the mode before
// its first table; a file made before the mode existed is rewritten once with
// VACUUM, which needs free disk space about the file's size and takes some
// seconds per 100 MB (docs/operations.md). w is the writer, before any
// transaction.
func incrementalAutoVacuum(ctx context.Context, w *sql.DB) error {
	const incremental = 2
	var mode int
	if err := w.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == incremental {
		return nil
	}
	if _, err := w.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if err := w.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == incremental {
		return nil // a new file: no table yet
	}
	// The open deadline is for reaching the file; the one rewrite takes as
	// long as the file needs.
	if _, err := w.ExecContext(context.WithoutCancel(ctx), "VACUUM"); err != nil {
		return fmt.Errorf("convert the file to incremental auto-vacuum (VACUUM): %w", err)
	}
	return nil
}
