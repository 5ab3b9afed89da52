package httpapi

import (
	"context"
	"fmt"
	"strings"

	"junction/internal/broker"
	"junction/internal/project"
)

// ConfigFile is where a project keeps its broker entities, in the format of
// the Service Bus emulator's config.json.
const ConfigFile = "servicebus/config.json"

// EmulatorConfig is the Service Bus emulator's config.json.
type EmulatorConfig struct {
	UserConfig struct {
		Namespaces []struct {
			Name   string          `json:"Name"`
			Queues []emulatorQueue `json:"Queues"`
			Topics []emulatorTopic `json:"Topics"`
		} `json:"Namespaces"`
		Logging *struct {
			Type string `json:"Type"`
		} `json:"Logging"`
	} `json:"UserConfig"`
}

type emulatorProps struct {
	DeadLetteringOnMessageExpiration    *bool  `json:"DeadLetteringOnMessageExpiration"`
	DefaultMessageTimeToLive            string `json:"DefaultMessageTimeToLive"`
	DuplicateDetectionHistoryTimeWindow string `json:"DuplicateDetectionHistoryTimeWindow"`
	ForwardDeadLetteredMessagesTo       string `json:"ForwardDeadLetteredMessagesTo"`
	ForwardTo                           string `json:"ForwardTo"`
	LockDuration                        string `json:"LockDuration"`
	MaxDeliveryCount                    int    `json:"MaxDeliveryCount"`
	RequiresDuplicateDetection          *bool  `json:"RequiresDuplicateDetection"`
	RequiresSession                     *bool  `json:"RequiresSession"`
}

type emulatorQueue struct {
	Name       string        `json:"Name"`
	Properties emulatorProps `json:"Properties"`
}

type emulatorTopic struct {
	Name          string                 `json:"Name"`
	Properties    emulatorProps          `json:"Properties"`
	Subscriptions []emulatorSubscription `json:"Subscriptions"`
}

type emulatorSubscription struct {
	Name       string         `json:"Name"`
	Properties emulatorProps  `json:"Properties"`
	Rules      []emulatorRule `json:"Rules"`
}

type emulatorRule struct {
	Name       string `json:"Name"`
	Properties struct {
		FilterType        string `json:"FilterType"`
		CorrelationFilter *struct {
			ContentType      string         `json:"ContentType"`
			CorrelationID    string         `json:"CorrelationId"`
			Label            string         `json:"Label"`
			MessageID        string         `json:"MessageId"`
			ReplyTo          string         `json:"ReplyTo"`
			ReplyToSessionID string         `json:"ReplyToSessionId"`
			SessionID        string         `json:"SessionId"`
			To               string         `json:"To"`
			Properties       map[string]any `json:"Properties"`
		} `json:"CorrelationFilter"`
		SQLFilter *struct {
			SQLExpression string `json:"SqlExpression"`
		} `json:"SqlFilter"`
		Action *struct {
			SQLExpression string `json:"SqlExpression"`
		} `json:"Action"`
	} `json:"Properties"`
}

func (p emulatorProps) properties() (broker.Properties, error) {
	var out broker.Properties
	dur := func(field, s string, into *broker.Duration) error {
		if s == "" {
			return nil
		}
		d, err := broker.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%s: %v", field, err)
		}
		*into = broker.Duration(d)
		return nil
	}
	if err := dur("DefaultMessageTimeToLive", p.DefaultMessageTimeToLive, &out.DefaultMessageTimeToLive); err != nil {
		return out, err
	}
	if err := dur("DuplicateDetectionHistoryTimeWindow", p.DuplicateDetectionHistoryTimeWindow, &out.DuplicateDetectionHistoryTimeWindow); err != nil {
		return out, err
	}
	if err := dur("LockDuration", p.LockDuration, &out.LockDuration); err != nil {
		return out, err
	}
	out.MaxDeliveryCount = p.MaxDeliveryCount
	out.ForwardTo, out.ForwardDeadLetteredMessagesTo = p.ForwardTo, p.ForwardDeadLetteredMessagesTo
	if p.DeadLetteringOnMessageExpiration != nil {
		out.DeadLetteringOnMessageExpiration = *p.DeadLetteringOnMessageExpiration
	}
	if p.RequiresDuplicateDetection != nil {
		out.RequiresDuplicateDetection = *p.RequiresDuplicateDetection
	}
	if p.RequiresSession != nil {
		out.RequiresSession = *p.RequiresSession
	}
	d := out.Defaults()
	if err := d.Validate(); err != nil {
		return out, err
	}
	return out, nil
}

func (r emulatorRule) rule() (broker.Rule, error) {
	out := broker.Rule{Name: r.Name}
	p := r.Properties
	switch strings.ToLower(p.FilterType) {
	case "sql":
		if p.SQLFilter == nil {
			return out, fmt.Errorf("rule %q: FilterType Sql needs SqlFilter.SqlExpression", r.Name)
		}
		out.Filter = broker.Filter{Type: broker.FilterSQL, SQL: p.SQLFilter.SQLExpression}
	case "correlation":
		c := p.CorrelationFilter
		if c == nil {
			return out, fmt.Errorf("rule %q: FilterType Correlation needs CorrelationFilter", r.Name)
		}
		out.Filter = broker.Filter{Type: broker.FilterCorrelation, Correlation: &broker.CorrelationFilter{
			ContentType: c.ContentType, CorrelationID: c.CorrelationID, Label: c.Label, MessageID: c.MessageID, ReplyTo: c.ReplyTo,
			ReplyToSessionID: c.ReplyToSessionID, SessionID: c.SessionID, To: c.To, Properties: c.Properties}}
	case "true", "truefilter":
		out.Filter = broker.Filter{Type: broker.FilterTrue}
	case "false", "falsefilter":
		out.Filter = broker.Filter{Type: broker.FilterFalse}
	default:
		return out, fmt.Errorf("rule %q: FilterType must be Sql or Correlation, got %q", r.Name, p.FilterType)
	}
	if p.Action != nil {
		out.Action = p.Action.SQLExpression
	}
	return out, nil
}

// check validates the whole config without a store.
func (c *EmulatorConfig) check() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	names := map[string]bool{}
	for _, ns := range c.UserConfig.Namespaces {
		for _, q := range ns.Queues {
			if err := broker.ValidateEntityName(q.Name); err != nil {
				add("queue %q: %v", q.Name, err)
			}
			if names[strings.ToLower(q.Name)] {
				add("queue %q is declared twice", q.Name)
			}
			names[strings.ToLower(q.Name)] = true
			if _, err := q.Properties.properties(); err != nil {
				add("queue %q: %v", q.Name, err)
			}
		}
		for _, t := range ns.Topics {
			if err := broker.ValidateEntityName(t.Name); err != nil {
				add("topic %q: %v", t.Name, err)
			}
			if names[strings.ToLower(t.Name)] {
				add("topic %q: the name is declared twice", t.Name)
			}
			names[strings.ToLower(t.Name)] = true
			if _, err := t.Properties.properties(); err != nil {
				add("topic %q: %v", t.Name, err)
			}
			subs := map[string]bool{}
			for _, s := range t.Subscriptions {
				if err := broker.ValidateSubscriptionName(s.Name); err != nil {
					add("topic %q: %v", t.Name, err)
				}
				if subs[strings.ToLower(s.Name)] {
					add("topic %q: subscription %q is declared twice", t.Name, s.Name)
				}
				subs[strings.ToLower(s.Name)] = true
				if _, err := s.Properties.properties(); err != nil {
					add("subscription %s/%s: %v", t.Name, s.Name, err)
				}
				for _, r := range s.Rules {
					rule, err := r.rule()
					if err == nil {
						err = broker.CheckRule(rule)
					}
					if err != nil {
						add("subscription %s/%s: %v", t.Name, s.Name, err)
					}
				}
			}
		}
	}
	for _, ns := range c.UserConfig.Namespaces {
		for _, q := range ns.Queues {
			for _, target := range []string{q.Properties.ForwardTo, q.Properties.ForwardDeadLetteredMessagesTo} {
				if target != "" && !names[strings.ToLower(target)] {
					add("queue %q forwards to %q, which the config does not declare", q.Name, target)
				}
			}
		}
		for _, t := range ns.Topics {
			for _, s := range t.Subscriptions {
				for _, target := range []string{s.Properties.ForwardTo, s.Properties.ForwardDeadLetteredMessagesTo} {
					if target != "" && !names[strings.ToLower(target)] {
						add("subscription %s/%s forwards to %q, which the config does not declare", t.Name, s.Name, target)
					}
				}
			}
		}
	}
	return problems
}

// Apply creates or updates every entity of the config. Entities are created
// first and forwarding set afterwards, so forwards may point at entities
// declared later. A subscription that lists rules gets exactly those rules
// ($Default is removed unless listed).
func (c *EmulatorConfig) Apply(ctx context.Context, b *broker.Broker) error {
	if problems := c.check(); len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	strip := func(p broker.Properties) broker.Properties {
		p.ForwardTo, p.ForwardDeadLetteredMessagesTo = "", ""
		return p
	}
	for pass := 0; pass < 2; pass++ {
		for _, ns := range c.UserConfig.Namespaces {
			for _, q := range ns.Queues {
				p, _ := q.Properties.properties()
				if pass == 0 {
					p = strip(p)
				}
				if _, _, err := b.PutQueue(ctx, q.Name, p); err != nil {
					return err
				}
			}
			for _, t := range ns.Topics {
				p, _ := t.Properties.properties()
				if _, _, err := b.PutTopic(ctx, t.Name, p); err != nil {
					return err
				}
				for _, s := range t.Subscriptions {
					p, _ := s.Properties.properties()
					if pass == 0 {
						p = strip(p)
					}
					if _, _, err := b.PutSubscription(ctx, t.Name, s.Name, p); err != nil {
						return err
					}
					if pass == 1 || len(s.Rules) == 0 {
						continue
					}
					keepDefault := false
					for _, r := range s.Rules {
						rule, _ := r.rule()
						keepDefault = keepDefault || rule.Name == broker.DefaultRuleName
						if _, _, err := b.PutRule(ctx, t.Name, s.Name, rule); err != nil {
							return err
						}
					}
					if !keepDefault {
						if err := b.DeleteRule(ctx, t.Name, s.Name, broker.DefaultRuleName); err != nil && broker.KindOf(err) != broker.KindEntityNotFound {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// Validator checks servicebus/config.json in a project folder.
type Validator struct{}

// ValidateProject implements project.Validator.
func (Validator) ValidateProject(p *project.Project) []project.Problem {
	if !p.Exists(ConfigFile) {
		return nil
	}
	var cfg EmulatorConfig
	if pr := p.DecodeJSON(ConfigFile, &cfg); pr != nil {
		return pr
	}
	var out []project.Problem
	for _, msg := range cfg.check() {
		out = append(out, project.Problem{File: ConfigFile, Message: msg})
	}
	return out
}
