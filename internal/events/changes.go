package events

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"encoding/json"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/trace"
)

// RecordsTopic is the system topic record changes are published to.
const RecordsTopic = "records"

// changeCursor names the dispatcher's position in the change log.
const changeCursor = "events"

// changeBatch is how many changes one dispatcher transaction publishes.
const changeBatch = 200

// ChangeEventType is the event type of a change: Junction.Records.Create,
// Junction.Records.Update or Junction.Records.Delete.
func ChangeEventType(message string) string { return "Junction.Records." + message }

func (r *Router) ensureSystemTopic(ctx context.Context) error {
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		if _, err := getTopic(ctx, tx, RecordsTopic); err == nil {
			return nil
		} else if !errors.Is(err, ErrTopicNotFound) {
			return err
		}
		_, err := putTopic(ctx, tx, RecordsTopic, TopicProperties{InputSchema: SchemaCloudEvents, Kind: KindSystem}, KindSystem, "system", r.now())
		if store.IsConflict(err) {
			return nil // another node made it
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create system topic %s: %w", RecordsTopic, err)
	}
	return nil
}

// ChangeEventID is the stable id of the event of change seq: the same change
// always gives the same id, so a receiver can drop duplicates.
func ChangeEventID(seq int64) string {
	var in [40]byte
	h := sha1.Sum(strconv.AppendInt(append(in[:0], "junction/changelog/"...), seq, 10))
	h[6] = (h[6] & 0x0f) | 0x50 // version 5
	h[8] = (h[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], h[0:4])
	hex.Encode(out[9:13], h[4:6])
	hex.Encode(out[14:18], h[6:8])
	hex.Encode(out[19:23], h[8:10])
	hex.Encode(out[24:36], h[10:16])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:])
}

// ChangeData is the data of a record change event.
type ChangeData struct {
	Table         string         `json:"table"`
	ID            string         `json:"id"`
	Message       string         `json:"messageName"`
	Changed       []string       `json:"changedColumns"`
	Before        map[string]any `json:"before"`
	After         map[string]any `json:"after"`
	CorrelationID string         `json:"correlationId"`
	UserID        string         `json:"userId"`
	Source        string         `json:"source"`
	Sequence      int64          `json:"sequence"`
}

// changeEvent turns one change into its CloudEvent.
func changeEvent(c changelog.Change) Event {
	data, _ := json.Marshal(ChangeData{Table: c.Table, ID: c.RecordID, Message: c.Message, Changed: c.Changed, Before: c.Before,
		After: c.After, CorrelationID: c.CorrelationID, UserID: c.UserID, Source: c.Source, Sequence: c.Seq})
	source := "/junction"
	if c.Source != "" && c.Source != "junction" {
		source = c.Source
	}
	return Event{Schema: SchemaCloudEvents, ID: ChangeEventID(c.Seq), Source: source, Topic: topicPath(RecordsTopic),
		Subject: "/tables/" + c.Table + "/" + c.RecordID, Type: ChangeEventType(c.Message), Time: nowString(c.At),
		DataContentType: "application/json", Data: data, DataVersion: "1.0"}
}

// changeFeed publishes the change log to the records topic, in commit order,
// under a lease so one node at a time does it.
func (r *Router) changeFeed(ctx context.Context) {
	_ = r.st.Leases().Hold(ctx, "events-changefeed", r.node, 15*time.Second, func(ctx context.Context) {
		sub := r.st.Listen(changelog.Channel)
		defer sub.Close()
		for ctx.Err() == nil {
			// Woken by a commit (or the poll): number what committed. A
			// sequencer already running notifies when it is done.
			n := 0
			err := changelog.TrySequence(ctx, r.st)
			if err == nil {
				n, err = r.dispatchChanges(ctx)
			}
			if err != nil && ctx.Err() == nil {
				r.log.Warn("events: change feed", "err", err)
			}
			if n == changeBatch {
				continue
			}
			if !sleep(ctx, r.opts.Poll, sub.C) {
				return
			}
		}
	}, func(err error) { r.log.Warn("events: change feed lease", "err", err) })
}

// dispatchChanges publishes the next changes after the cursor and moves the
// cursor in the same transaction, so each change is published exactly once.
func (r *Router) dispatchChanges(ctx context.Context) (int, error) {
	n := 0
	err := r.st.Tx(ctx, func(tx store.Tx) error {
		n = 0
		// The feed starts at the beginning of the log: every change ever
		// committed becomes an event.
		cursor, err := changelog.OpenCursorAt(ctx, tx, changeCursor, 0)
		if err != nil {
			return err
		}
		if cursor.Lost {
			// Retention deleted changes the feed had not published (it
			// stayed behind longer than --retain-changes-max): start again
			// from the head, as Dataverse's change tracking makes a client
			// whose token expired sync again.
			head, err := changelog.Head(ctx, tx)
			if err != nil {
				return err
			}
			r.log.Warn("events: the change log was trimmed past the change feed; changes up to the head were not published and the feed restarts from there",
				"position", cursor.Seq, "head", head)
			return cursor.Advance(ctx, tx, max(head, cursor.Seq))
		}
		subs, err := listSubs(ctx, tx, RecordsTopic)
		if err != nil {
			return err
		}
		// With nobody subscribed every event would be dropped (publishTx
		// keeps only matched ones): the rows' images are not even read.
		listening := slices.ContainsFunc(subs, func(s subRow) bool { return s.State != StateFailed })
		var changes []changelog.Change
		if listening {
			changes, err = cursor.Next(ctx, tx, "", changeBatch)
		} else {
			changes, err = cursor.NextHeaders(ctx, tx, changeBatch)
		}
		if err != nil || len(changes) == 0 {
			return err
		}
		evs := make([]Event, len(changes))
		for i, c := range changes {
			if listening {
				evs[i] = changeEvent(c)
			} else {
				evs[i].ID = ChangeEventID(c.Seq)
			}
			if c.Trace != "" {
				// The change's hop: from its commit to its event.
				_, span := r.opts.Tracer.BeginFrom(ctx, c.Trace, "Change log", c.Message+" "+c.Table)
				span.Kind(trace.KindProducer).StartedAt(c.At).Set("junction.change.seq", strconv.FormatInt(c.Seq, 10)).
					Set("junction.record", c.Table+"/"+c.RecordID).Set("cloudevents.event_id", evs[i].ID)
				if tp := span.Context().String(); tp != "" {
					evs[i].Trace = tp
					evs[i].Extensions = map[string]any{"traceparent": tp}
				}
				tx.AfterCommit(func() { span.End(nil) })
			}
		}
		if listening {
			if _, err := publishTx(ctx, tx, RecordsTopic, evs, r.now()); err != nil {
				return err
			}
		}
		if err := cursor.Advance(ctx, tx, changes[len(changes)-1].Seq); err != nil {
			return err
		}
		n = len(changes)
		return nil
	})
	if err == nil && n > 0 {
		r.m.published.Add(float64(n))
	}
	return n, err
}
