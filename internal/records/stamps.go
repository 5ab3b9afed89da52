package records

import (
	"context"
	"database/sql"
	"fmt"

	"junction/internal/store"
)

// TableStamps returns when each table's definition last changed (Unix
// microseconds), for metadata change tracking (RetrieveMetadataChanges).
func (s *Service) TableStamps(ctx context.Context, q store.Querier) (map[string]int64, error) {
	type stamp struct {
		name string
		at   int64
	}
	stamps, err := store.Collect(ctx, q, func(rows *sql.Rows) (st stamp, err error) {
		err = rows.Scan(&st.name, &st.at)
		return st, err
	}, "SELECT name, updated_at FROM records_tables")
	if err != nil {
		return nil, fmt.Errorf("table stamps: %w", err)
	}
	out := make(map[string]int64, len(stamps))
	for _, st := range stamps {
		out[st.name] = st.at
	}
	return out, nil
}
