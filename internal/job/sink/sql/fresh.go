package sql

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"junction/internal/job/sink"
)

// keyIsUnique says that the PostgreSQL table has a unique index on exactly
// the sink's key columns that every insert checks at once: valid, not
// partial, without expressions, not deferred. Only then does a COPY of a
// row whose key the table holds fail, so that a chunk may be copied without
// reading its keys first.
func (s *Sink) keyIsUnique(ctx context.Context) (bool, error) {
	const q = `SELECT EXISTS (SELECT 1 FROM pg_index i
		WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisunique AND i.indisvalid AND i.indimmediate
			AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = cardinality($2::text[])
			AND NOT EXISTS (SELECT 1 FROM unnest($2::text[]) AS k(name) WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
				WHERE a.attrelid = i.indrelid AND a.attname = k.name AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))))`
	var unique bool
	err := s.withTx(ctx, func(tx chunkTx) error {
		return tx.query(ctx, q, []any{s.table, s.key}, func(v []any) error {
			unique, _ = v[0].(bool)
			return nil
		})
	})
	return unique, err
}

// copyFirst says that Apply may write rows as new without reading their
// keys first: on PostgreSQL with COPY, a unique index on the key, the last
// chunk read by key found none of its rows in the table, and no row of
// rows is a deletion the sink acts on.
func (s *Sink) copyFirst(rows []sink.Row) bool {
	if !s.uniqueKey || !s.lastNew || s.pg == nil || s.noCopy {
		return false
	}
	if s.deletes == "ignore" {
		return true
	}
	for _, r := range rows {
		if r.Deleted {
			return false
		}
	}
	return true
}

// applyNew writes a chunk whose rows are all expected to be new with COPY
// alone, in one transaction. When the table holds one of their keys, the
// unique index fails the COPY and applyNew returns an error that isHeld
// recognizes; nothing was written, and the chunk is to be applied as usual.
func (s *Sink) applyNew(ctx context.Context, rows []sink.Row) (sink.Counts, map[string][32]byte, error) {
	fresh := rows
	if s.deletes == "ignore" {
		fresh = make([]sink.Row, 0, len(rows))
		for _, r := range rows {
			if !r.Deleted {
				fresh = append(fresh, r)
			}
		}
	}
	var c sink.Counts
	var back map[string][32]byte
	if s.fold {
		back = make(map[string][32]byte, len(fresh))
	}
	if len(fresh) == 0 {
		return c, back, nil
	}
	err := s.withTx(ctx, func(tx chunkTx) error {
		n, err := s.copyRows(ctx, tx.(pgTx).tx, fresh, back)
		c.Inserted = n
		return err
	})
	if err != nil {
		return sink.Counts{}, nil, err
	}
	return c, back, nil
}

// isHeld says that err is a unique index's refusal of a row: on a chunk
// written by applyNew, a key the table holds already.
func isHeld(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505" // unique_violation
}
