package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// DeleteBatch is the shape of every retention pruner: in tx it selects up to
// one batch of keys with selectKeys (whose arguments end with the batch
// size), deletes the rows of each "table.column" in from whose column is one
// of them (dependent tables first, the table the keys came from last), and
// returns how many keys it selected.
func DeleteBatch(ctx context.Context, tx Tx, selectKeys string, args []any, from ...string) (int64, error) {
	keys, err := Collect(ctx, tx, func(r *sql.Rows) (any, error) {
		var k any
		err := r.Scan(&k)
		return k, err
	}, selectKeys, args...)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(keys)), ",")
	for _, tc := range from {
		table, column, ok := strings.Cut(tc, ".")
		if !ok {
			return 0, fmt.Errorf("delete batch: %q is not table.column", tc)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE "+column+" IN ("+marks+")", keys...); err != nil {
			return 0, fmt.Errorf("delete batch from %s: %w", table, err)
		}
	}
	return int64(len(keys)), nil
}
