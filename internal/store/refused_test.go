package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"junction/internal/store"
)

// TestIsRefused: the server's answers to a statement it would not run are
// refusals; a lost connection, and the server's errors that end the
// connection (which may come after a local commit), are not.
func TestIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("insert: %w", store.ErrConflict), true},
		{fmt.Errorf("insert: %w", store.ErrConstraint), true},
		{fmt.Errorf("insert: %w", &pgconn.PgError{Code: "22012", Message: "division by zero"}), true},
		{&pgconn.PgError{Code: "23503", Message: "foreign key"}, true},
		{&pgconn.PgError{Code: "57P01", Severity: "FATAL", Message: "terminating connection due to administrator command"}, false},
		{&pgconn.PgError{Code: "08006", Message: "connection failure"}, false},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), false},
		{fmt.Errorf("unexpected EOF"), false},
	} {
		if got := store.IsRefused(c.err); got != c.want {
			t.Errorf("IsRefused(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
