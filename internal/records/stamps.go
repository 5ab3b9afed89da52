package records

import (
	"context"
	"fmt"

	"junction/internal/store"
)

// TableStamps returns when each table's definition last changed (Unix
// microseconds), for metadata change tracking (RetrieveMetadataChanges).
func (s *Service) TableStamps(ctx context.Context, q store.Querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, "SELECT name, updated_at FROM records_tables")
	if err != nil {
		return nil, fmt.Errorf("table stamps: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			return nil, err
		}
		out[name] = at
	}
	return out, rows.Err()
}
