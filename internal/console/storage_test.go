package console_test

import (
	"context"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/broker"
	"junction/internal/changelog"
	"junction/internal/console/browsertest"
	"junction/internal/store"
)

// TestConsoleShowsStorage: an operator reads on the Storage page what takes
// the space (the accounts, a queue's dead letter), the retention in force,
// and that a reader of the change log lost its place.
func TestConsoleShowsStorage(t *testing.T) {
	t.Parallel()
	browser(t)
	a, base := startApp(t, app.Config{})
	ctx := context.Background()
	for _, body := range []string{`{"name":"Contoso"}`, `{"name":"Fabrikam"}`, `{"name":"Northwind"}`} {
		if resp, err := post(base+"/api/data/v9.2/accounts", body); err != nil || resp.StatusCode != 204 {
			t.Fatalf("create account: %v %v", resp, err)
		}
	}
	b := brokerOf(t, a)
	if _, _, err := b.PutQueue(ctx, "case-updates", broker.Properties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "case-updates", broker.Message{Body: []byte(`{"status":"unknown"}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Receive(ctx, "case-updates", broker.ReceiveOptions{Mode: broker.PeekLock, Wait: 5 * time.Second})
	if err != nil || len(got) != 1 {
		t.Fatalf("receive: %v %v", got, err)
	}
	if err := b.DeadLetter(ctx, "case-updates", broker.Settlement{LockToken: got[0].LockToken, Reason: "Poison"}); err != nil {
		t.Fatal(err)
	}
	// A row trigger's reader that retention passed (as it does past
	// --retain-changes-max): the store's own cursor, marked as retention
	// marks it.
	if err := a.Store().Tx(ctx, func(tx store.Tx) error {
		if _, err := changelog.OpenCursorAt(ctx, tx, "rowtrigger:contact-sync/When_a_row_changes", 1); err != nil {
			return err
		}
		return changelog.MarkLost(ctx, tx, "rowtrigger:contact-sync/When_a_row_changes")
	}); err != nil {
		t.Fatal(err)
	}
	_, opKey, err := a.Keys().Create(ctx, "ops", "operator")
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Run(t, "storage.mjs", "BASE="+base, "OPERATOR_KEY="+opKey)
}
