package events

import (
	"context"
	"errors"
	"fmt"

	"junction/internal/project"
)

// ProjectFile is where a project declares its topics and subscriptions.
const ProjectFile = "eventgrid.yaml"

// ProjectTopic is one topic of eventgrid.yaml, in the shape of the Azure
// Resource Manager resource.
type ProjectTopic struct {
	Name               string                `yaml:"name"`
	Properties         TopicProperties       `yaml:"properties"`
	EventSubscriptions []ProjectSubscription `yaml:"eventSubscriptions"`
}

// ProjectSubscription is one event subscription of eventgrid.yaml.
type ProjectSubscription struct {
	Name       string                 `yaml:"name"`
	Properties SubscriptionProperties `yaml:"properties"`
}

// ProjectDoc is eventgrid.yaml.
type ProjectDoc struct {
	Topics []ProjectTopic `yaml:"topics"`
}

// Validator checks eventgrid.yaml without a store.
type Validator struct{}

// ValidateProject checks eventgrid.yaml.
func (Validator) ValidateProject(p *project.Project) []project.Problem {
	_, problems := readProject(p)
	return problems
}

func readProject(p *project.Project) (*ProjectDoc, []project.Problem) {
	if !p.Exists(ProjectFile) {
		return nil, nil
	}
	var doc ProjectDoc
	if pr := p.DecodeYAML(ProjectFile, &doc); pr != nil {
		return nil, pr
	}
	var problems []project.Problem
	bad := func(format string, args ...any) {
		problems = append(problems, project.Problem{File: ProjectFile, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for i := range doc.Topics {
		t := &doc.Topics[i]
		if err := ValidateName("topic", t.Name); err != nil {
			bad("topics[%d]: %v", i, err)
			continue
		}
		if t.Name == RecordsTopic {
			// The system topic exists already; subscriptions may be declared on it.
			t.Properties = TopicProperties{InputSchema: SchemaCloudEvents, Kind: KindSystem}
		} else if err := t.Properties.normalize(); err != nil {
			bad("topic %s: %v", t.Name, err)
			continue
		}
		if seen[t.Name] {
			bad("topic %s is declared twice", t.Name)
		}
		seen[t.Name] = true
		subs := map[string]bool{}
		for j := range t.EventSubscriptions {
			s := &t.EventSubscriptions[j]
			if err := ValidateName("event subscription", s.Name); err != nil {
				bad("topic %s, eventSubscriptions[%d]: %v", t.Name, j, err)
				continue
			}
			if subs[s.Name] {
				bad("topic %s: event subscription %s is declared twice", t.Name, s.Name)
			}
			subs[s.Name] = true
			if err := s.Properties.normalize(t.Properties.InputSchema); err != nil {
				bad("topic %s, event subscription %s: %v", t.Name, s.Name, err)
				continue
			}
			if s.Properties.pull() && t.Properties.Kind != KindNamespace {
				bad("topic %s, event subscription %s: pull (Queue) delivery needs kind: Namespace on the topic", t.Name, s.Name)
			}
		}
	}
	return &doc, problems
}

// ValidateProject checks eventgrid.yaml (the router is its own validator too).
func (r *Router) ValidateProject(p *project.Project) []project.Problem {
	return Validator{}.ValidateProject(p)
}

// LoadProject creates or updates the topics and subscriptions of
// eventgrid.yaml. Topics and subscriptions made through the API are kept.
func (r *Router) LoadProject(ctx context.Context, p *project.Project) error {
	doc, problems := readProject(p)
	if len(problems) > 0 {
		return project.Problems(problems)
	}
	if doc == nil {
		return nil
	}
	if err := r.ensureSystemTopic(ctx); err != nil {
		return err
	}
	for _, t := range doc.Topics {
		if t.Name != RecordsTopic {
			if _, err := r.PutTopic(ctx, t.Name, t.Properties, "project"); err != nil {
				return fmt.Errorf("topic %s: %w", t.Name, err)
			}
		}
		for _, s := range t.EventSubscriptions {
			if _, err := r.PutSubscription(ctx, t.Name, s.Name, s.Properties, "project", r.baseURL(nil)); err != nil {
				var fe *FieldError
				if errors.As(err, &fe) {
					return fmt.Errorf("topic %s, event subscription %s: %w", t.Name, s.Name, err)
				}
				return err
			}
		}
	}
	return nil
}
