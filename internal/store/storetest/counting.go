package storetest

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"

	"junction/internal/store"
)

// Counting is a Store that counts the statements run in its write
// transactions (each a round trip to PostgreSQL), so that tests can hold a
// batch's writes to the statements they take. Only Tx is wrapped: the
// optional interfaces of the store under it (store.AutocommitWriter, ...)
// are hidden, and its callers run every write in Tx.
type Counting struct {
	store.Store
	mu         sync.Mutex
	statements []string
}

// NewCounting wraps s.
func NewCounting(s store.Store) *Counting { return &Counting{Store: s} }

func (c *Counting) Tx(ctx context.Context, fn func(tx store.Tx) error) error {
	return c.Store.Tx(ctx, func(tx store.Tx) error { return fn(countingTx{tx, c}) })
}

// Statements returns how many statements containing substr ran in
// transactions since the last Reset (rolled-back ones included).
func (c *Counting) Statements(substr string) int { return c.Matching(substr) }

// Matching returns how many statements containing every one of substrs ran
// in transactions since the last Reset.
func (c *Counting) Matching(substrs ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.statements {
		if !slices.ContainsFunc(substrs, func(s string) bool { return !strings.Contains(q, s) }) {
			n++
		}
	}
	return n
}

// Reset forgets the statements counted so far.
func (c *Counting) Reset() {
	c.mu.Lock()
	c.statements = nil
	c.mu.Unlock()
}

func (c *Counting) count(q string) {
	c.mu.Lock()
	c.statements = append(c.statements, q)
	c.mu.Unlock()
}

type countingTx struct {
	store.Tx
	c *Counting
}

func (t countingTx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.c.count(q)
	return t.Tx.Exec(ctx, q, args...)
}

func (t countingTx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.c.count(q)
	return t.Tx.Query(ctx, q, args...)
}

func (t countingTx) QueryRow(ctx context.Context, q string, args ...any) *store.Row {
	t.c.count(q)
	return t.Tx.QueryRow(ctx, q, args...)
}
