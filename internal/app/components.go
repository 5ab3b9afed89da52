package app

import (
	"context"
	"encoding/json"
	"strconv"

	"junction/internal/broker"
	"junction/internal/broker/httpapi"
	"junction/internal/console"
	"junction/internal/events"
	"junction/internal/project"
	"junction/internal/records"
	"junction/internal/webapi"
)

// buildComponents constructs every surface and worker, wiring dependencies by
// hand. Order matters: components start in this order and stop in reverse.
func buildComponents(d Deps) []Component {
	bus := httpapi.New(httpapi.Config{Store: d.Store, Keys: d.Keys, Logger: d.Logger, Registry: d.Registry, NodeID: d.NodeID, AdminKey: d.Config.AdminKey})
	router := events.New(d.Store, d.Keys, d.Logger, d.Registry, d.NodeID, d.Config.Listen, events.OptionsFromEnv())
	toBroker := brokerDispatcher{bus.Broker()}
	router.RegisterDispatcher(events.EndpointServiceBusQueue, toBroker)
	router.RegisterDispatcher(events.EndpointServiceBusTopic, toBroker)
	return []Component{webapi.NewComponent(d.Store, d.Keys, d.Logger), bus, router}
}

// brokerDispatcher delivers event subscriptions whose destination is a
// ServiceBusQueue or ServiceBusTopic: one message per event, the event in the
// subscription's delivery schema as the body, as Event Grid does.
type brokerDispatcher struct{ b *broker.Broker }

func (d brokerDispatcher) Deliver(ctx context.Context, target string, evs []events.Event) error {
	del, _ := events.DeliveryFrom(ctx)
	msgs := make([]broker.Message, len(evs))
	for i := range evs {
		body, err := json.Marshal(evs[i].Render(del.Schema))
		if err != nil {
			return events.Permanent(err)
		}
		msgs[i] = broker.Message{Body: body, MessageID: evs[i].ID, ContentType: "application/json", Subject: evs[i].Subject,
			Properties: map[string]any{"aeg-event-type": "Notification", "aeg-subscription-name": del.Subscription,
				"aeg-delivery-count": strconv.Itoa(del.Attempt), "aeg-metadata-version": "1", "aeg-data-version": evs[i].DataVersion}}
	}
	_, err := d.b.Send(ctx, target, msgs...)
	switch broker.KindOf(err) {
	case broker.KindBadRequest, broker.KindTooLarge:
		return events.Permanent(err)
	}
	return err
}

// Validators check a project folder's files, one per surface; `junction
// validate` runs them without opening a store.
func Validators() []project.Validator {
	return []project.Validator{records.Validator{}, httpapi.Validator{}, events.Validator{}}
}

// reporters are what tells the console's overview what is failing now: the
// components that report themselves, and adapters for those that do not.
func reporters(components []Component) []console.Reporter {
	var out []console.Reporter
	for _, c := range components {
		if r, ok := c.(console.Reporter); ok {
			out = append(out, r)
		}
		if bus, ok := c.(*httpapi.API); ok {
			out = append(out, brokerAlerts{bus.Broker()})
		}
	}
	return out
}
