package console_test

import (
	"context"
	"testing"
	"time"

	"junction/internal/app"
	"junction/internal/broker"
	"junction/internal/broker/httpapi"
	"junction/internal/console/browsertest"
)

func brokerOf(t *testing.T, a *app.App) *broker.Broker {
	t.Helper()
	for _, c := range a.Components() {
		if api, ok := c.(*httpapi.API); ok {
			return api.Broker()
		}
	}
	t.Fatal("no broker component")
	return nil
}

// TestConsoleResubmitsADeadLetter: a consumer dead-letters a poison message;
// an operator finds it from the overview, reads why, resubmits it in the
// console; the consumer then receives it again and completes it.
func TestConsoleResubmitsADeadLetter(t *testing.T) {
	t.Parallel()
	browser(t)
	a, base := startApp(t, app.Config{})
	ctx := context.Background()
	b := brokerOf(t, a)
	if _, _, err := b.PutQueue(ctx, "case-updates", broker.Properties{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(ctx, "case-updates", broker.Message{MessageID: "case-42", ContentType: "application/json",
		Body: []byte(`{"ticketnumber":"CAS-01042","status":"unknown-status"}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Receive(ctx, "case-updates", broker.ReceiveOptions{Mode: broker.PeekLock, Wait: 5 * time.Second})
	if err != nil || len(got) != 1 {
		t.Fatalf("receive: %v %v", got, err)
	}
	if err := b.DeadLetter(ctx, "case-updates", broker.Settlement{LockToken: got[0].LockToken,
		Reason: "ValidationFailed", Description: "status 'unknown-status' is not a Case status"}); err != nil {
		t.Fatal(err)
	}
	_, opKey, err := a.Keys().Create(ctx, "ops", "operator")
	if err != nil {
		t.Fatal(err)
	}

	browsertest.Run(t, "deadletter.mjs", "BASE="+base, "OPERATOR_KEY="+opKey)

	again, err := b.Receive(ctx, "case-updates", broker.ReceiveOptions{Mode: broker.PeekLock, Wait: 5 * time.Second})
	if err != nil || len(again) != 1 || again[0].MessageID != "case-42" {
		t.Fatalf("the resubmitted message did not come back: %v %v", again, err)
	}
	if err := b.Complete(ctx, "case-updates", broker.Settlement{LockToken: again[0].LockToken}); err != nil {
		t.Fatal(err)
	}
	c, _ := b.Counts(ctx, "case-updates")
	if c.Active != 0 || c.DeadLetter != 0 {
		t.Fatalf("counts after processing: %+v", c)
	}
}
