package app

import (
	"context"
	"fmt"
	"strings"

	"junction/internal/broker"
	"junction/internal/console"
)

// brokerAlerts tells the console's overview which queues and subscriptions
// hold dead-lettered messages.
type brokerAlerts struct{ b *broker.Broker }

var _ console.Reporter = brokerAlerts{}

func (a brokerAlerts) Alerts(ctx context.Context) []console.Alert {
	var out []console.Alert
	queues, err := receivers(ctx, a.b)
	if err != nil {
		return []console.Alert{{Surface: "Broker", Severity: "error", Title: "cannot list queues", Detail: err.Error()}}
	}
	for _, e := range queues {
		c, err := a.b.Counts(ctx, e.Path)
		if err != nil || c.DeadLetter == 0 {
			continue
		}
		link := "#/messaging/queue/" + e.Path
		if e.Kind == broker.Subscription {
			topic, _, _ := strings.Cut(e.Path, "/")
			link = "#/messaging/sub/" + topic + "/" + e.Name()
		}
		out = append(out, console.Alert{Surface: "Broker", Severity: "warning",
			Title:  fmt.Sprintf("%d dead-lettered message(s) in %s", c.DeadLetter, e.Path),
			Detail: "open the dead-letter queue to read why, then resubmit or purge", Link: link})
	}
	return out
}

// receivers are the broker's queues and every topic's subscriptions: the
// entities that hold messages.
func receivers(ctx context.Context, b *broker.Broker) ([]broker.Entity, error) {
	queues, err := b.Entities(ctx, broker.Queue, "")
	if err != nil {
		return nil, err
	}
	topics, err := b.Entities(ctx, broker.Topic, "")
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		subs, err := b.Entities(ctx, broker.Subscription, t.Path)
		if broker.KindOf(err) == broker.KindEntityNotFound {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		queues = append(queues, subs...)
	}
	return queues, nil
}
