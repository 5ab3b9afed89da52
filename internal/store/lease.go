package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// leasesTable is created by the "store" component's first migration.
var coreMigrations = []Migration{{
	Component: "store",
	Version:   1,
	Name:      "leases",
	SQL: `CREATE TABLE junction_leases (
		name       TEXT PRIMARY KEY,
		owner      TEXT NOT NULL,
		token      BIGINT NOT NULL,
		expires_at BIGINT NOT NULL
	)`,
}}

// CoreMigrations are the store's own tables; drivers apply them at open.
func CoreMigrations() []Migration { return coreMigrations }

// Lease is a held claim on a name until Expires. Token grows by one every time
// the lease changes hands, so it can fence writes made by a former holder.
type Lease struct {
	Name    string
	Owner   string
	Token   int64
	Expires time.Time
}

// Leases claims named work with a deadline. A holder renews before the deadline;
// once it passes, another owner may take the lease. The clock is the database's,
// so nodes with skewed clocks agree on expiry.
type Leases struct {
	s Store
}

// NewLeases returns the lease primitive over s. Drivers call it.
func NewLeases(s Store) *Leases { return &Leases{s: s} }

func nowExpr(d Dialect) string {
	if d == Postgres {
		return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
}

// NowExpr is the SQL expression for the database's clock in Unix microseconds.
func (d Dialect) NowExpr() string { return nowExpr(d) }

// Acquire takes the lease name for owner for ttl. It fails with ErrLeaseHeld when
// another owner holds an unexpired lease. An owner acquiring its own live lease
// extends it and keeps the token.
func (l *Leases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error) {
	if ttl <= 0 {
		return Lease{}, fmt.Errorf("acquire lease %q: ttl must be positive", name)
	}
	var lease Lease
	err := l.s.Tx(ctx, func(tx Tx) error {
		now := nowExpr(tx.Dialect())
		var token, expires int64
		err := tx.QueryRow(ctx, `INSERT INTO junction_leases (name, owner, token, expires_at)
			VALUES (?, ?, 1, `+now+` + ?)
			ON CONFLICT (name) DO UPDATE SET
				token = CASE WHEN junction_leases.owner = excluded.owner AND junction_leases.expires_at >= `+now+`
					THEN junction_leases.token ELSE junction_leases.token + 1 END,
				owner = excluded.owner,
				expires_at = excluded.expires_at
			WHERE junction_leases.expires_at < `+now+` OR junction_leases.owner = excluded.owner
			RETURNING token, expires_at`, name, owner, ttl.Microseconds()).Scan(&token, &expires)
		if errors.Is(err, ErrNotFound) {
			return ErrLeaseHeld
		}
		if err != nil {
			return err
		}
		lease = Lease{Name: name, Owner: owner, Token: token, Expires: FromMicros(expires)}
		return nil
	})
	if err != nil {
		return Lease{}, fmt.Errorf("acquire lease %q: %w", name, err)
	}
	return lease, nil
}

// Renew extends a held lease by ttl from now. It fails with ErrLeaseLost when the
// lease expired or changed hands.
func (l *Leases) Renew(ctx context.Context, lease Lease, ttl time.Duration) (Lease, error) {
	err := l.s.Tx(ctx, func(tx Tx) error {
		now := nowExpr(tx.Dialect())
		var expires int64
		err := tx.QueryRow(ctx, `UPDATE junction_leases SET expires_at = `+now+` + ?
			WHERE name = ? AND owner = ? AND token = ? AND expires_at >= `+now+`
			RETURNING expires_at`, ttl.Microseconds(), lease.Name, lease.Owner, lease.Token).Scan(&expires)
		if errors.Is(err, ErrNotFound) {
			return ErrLeaseLost
		}
		if err != nil {
			return err
		}
		lease.Expires = FromMicros(expires)
		return nil
	})
	if err != nil {
		return Lease{}, fmt.Errorf("renew lease %q: %w", lease.Name, err)
	}
	return lease, nil
}

// Release gives a lease up so another owner can take it at once. Releasing a
// lease that was already lost is not an error.
func (l *Leases) Release(ctx context.Context, lease Lease) error {
	err := l.s.Tx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `UPDATE junction_leases SET expires_at = 0 WHERE name = ? AND owner = ? AND token = ?`,
			lease.Name, lease.Owner, lease.Token)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %q: %w", lease.Name, err)
	}
	return nil
}

// Hold runs fn while owner holds the lease name: it waits until the lease can be
// taken, renews it every ttl/3, and cancels fn's context if the lease is lost.
// It returns nil when ctx ends (releasing the lease). Another owner holding the
// lease is the normal wait; any other failure to acquire or renew it (the
// database out of reach) does not end Hold either, which tries again, but is
// passed to each report function so that the caller can log it.
func (l *Leases) Hold(ctx context.Context, name, owner string, ttl time.Duration, fn func(ctx context.Context), report ...func(err error)) error {
	tell := func(err error) {
		for _, r := range report {
			r(err)
		}
	}
	for {
		lease, err := l.Acquire(ctx, name, owner, ttl)
		if err == nil {
			l.run(ctx, lease, ttl, fn, tell)
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		if !errors.Is(err, ErrLeaseHeld) && ctx.Err() == nil {
			tell(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(ttl / 3):
		}
	}
}

func (l *Leases) run(ctx context.Context, lease Lease, ttl time.Duration, fn func(ctx context.Context), tell func(error)) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(runCtx)
	}()
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-done:
			if err := l.Release(context.WithoutCancel(ctx), lease); err != nil {
				tell(err)
			}
			return
		case <-tick.C:
			renewed, err := l.Renew(runCtx, lease, ttl)
			if errors.Is(err, ErrLeaseLost) {
				cancel()
				<-done
				return
			}
			if err == nil {
				lease = renewed
				continue
			}
			if runCtx.Err() == nil {
				tell(err)
			}
			if time.Until(lease.Expires) < ttl/3 {
				// Renewals keep failing and the lease is about to lapse: stop
				// before another owner can take it.
				cancel()
				<-done
				return
			}
		}
	}
}
