package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"
)

// events is `junction events topics|publish|deadletters|replay`, a client of the
// event router's publish and management APIs.
func events(ctx context.Context, args []string, io IO) int {
	if len(args) == 0 {
		fmt.Fprintln(io.Stderr, "usage: junction events topics|publish|deadletters|replay [flags]")
		return exitUsage
	}
	sub, args := args[0], args[1:]
	fs, c := clientFlags("events "+sub, io)
	var topic, subscription, typ, subject, data, file, source string
	var cloud bool
	switch sub {
	case "publish":
		fs.StringVar(&topic, "topic", "", "the topic to publish to")
		fs.StringVar(&typ, "type", "", "the event type")
		fs.StringVar(&subject, "subject", "/", "the event subject")
		fs.StringVar(&data, "data", "null", "the event data (JSON)")
		fs.StringVar(&file, "file", "", "a JSON file with an array of events to publish as they are")
		fs.BoolVar(&cloud, "cloudevents", false, "publish a CloudEvent (for CloudEventSchemaV1_0 topics)")
		fs.StringVar(&source, "source", "/junction/cli", "the CloudEvents source")
	case "deadletters", "replay":
		fs.StringVar(&topic, "topic", "", "the topic")
		fs.StringVar(&subscription, "subscription", "", "the event subscription")
	}
	if code, ok := fs.parse(args, io.Env, c); !ok {
		return code
	}
	switch sub {
	case "topics":
		var out struct {
			Value []struct {
				Name       string
				Properties struct{ InputSchema, Kind, Endpoint string }
			}
		}
		if err := c.do(ctx, "GET", "/admin/v1/eventgrid/topics", nil, &out); err != nil {
			return failf(io, "events topics: %v", err)
		}
		tw := tabwriter.NewWriter(io.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tKIND\tSCHEMA\tENDPOINT")
		for _, t := range out.Value {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Properties.Kind, t.Properties.InputSchema, t.Properties.Endpoint)
		}
		tw.Flush()
	case "publish":
		if topic == "" || (file == "" && typ == "") {
			fmt.Fprintln(io.Stderr, "usage: junction events publish --topic T (--type TYPE [--subject S] [--data JSON] [--cloudevents] | --file events.json)")
			return exitUsage
		}
		var body any
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return failf(io, "events publish: %v", err)
			}
			var evs []json.RawMessage
			if err := json.Unmarshal(b, &evs); err != nil {
				return failf(io, "events publish: %s is not a JSON array of events: %v", file, err)
			}
			body = evs
		} else {
			if !json.Valid([]byte(data)) {
				return failf(io, "events publish: --data is not valid JSON")
			}
			id := newEventID()
			now := time.Now().UTC().Format(time.RFC3339Nano)
			ev := map[string]any{"id": id, "eventType": typ, "subject": subject, "eventTime": now, "dataVersion": "1.0", "data": json.RawMessage(data)}
			if cloud {
				ev = map[string]any{"specversion": "1.0", "id": id, "type": typ, "source": source, "subject": subject, "time": now, "data": json.RawMessage(data)}
			}
			body = []any{ev}
		}
		if err := c.do(ctx, "POST", "/eventgrid/topics/"+topic+"/api/events", body, nil); err != nil {
			return failf(io, "events publish: %v", err)
		}
		fmt.Fprintln(io.Stdout, "published")
	case "deadletters", "replay":
		if topic == "" || subscription == "" {
			fmt.Fprintf(io.Stderr, "usage: junction events %s --topic T --subscription S\n", sub)
			return exitUsage
		}
		path := "/admin/v1/eventgrid/topics/" + topic + "/eventSubscriptions/" + subscription + "/deadLetters"
		if sub == "replay" {
			var out struct{ Replayed int }
			if err := c.do(ctx, "POST", path+"/replay", map[string]any{}, &out); err != nil {
				return failf(io, "events replay: %v", err)
			}
			fmt.Fprintf(io.Stdout, "replayed %d events\n", out.Replayed)
			return exitOK
		}
		var out struct {
			Value []struct {
				Sequence        int64
				DeadLetterEvent map[string]any
			}
		}
		if err := c.do(ctx, "GET", path, nil, &out); err != nil {
			return failf(io, "events deadletters: %v", err)
		}
		enc := json.NewEncoder(io.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out.Value)
	default:
		fmt.Fprintf(io.Stderr, "junction events: unknown subcommand %q\n", sub)
		return exitUsage
	}
	return exitOK
}

func newEventID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
