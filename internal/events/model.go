package events

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Endpoint types a subscription can deliver to.
const (
	EndpointWebHook         = "WebHook"
	EndpointServiceBusQueue = "ServiceBusQueue"
	EndpointServiceBusTopic = "ServiceBusTopic"
	EndpointWorkflow        = "Workflow"
	EndpointFunction        = "Function"
	EndpointAzureFunction   = "AzureFunction"
)

var knownEndpoints = map[string]bool{EndpointWebHook: true, EndpointServiceBusQueue: true, EndpointServiceBusTopic: true,
	EndpointWorkflow: true, EndpointFunction: true, EndpointAzureFunction: true}

// Topic kinds.
const (
	KindCustom    = "Custom"
	KindNamespace = "Namespace"
	KindSystem    = "System"
)

// TopicProperties are the properties of a topic resource.
type TopicProperties struct {
	InputSchema string `json:"inputSchema,omitempty" yaml:"inputSchema"`
	// Kind is Custom (the default) or Namespace (pull delivery available).
	Kind string `json:"kind,omitempty" yaml:"kind"`
}

// SubscriptionProperties are the properties of an event subscription resource,
// in the shape Azure Resource Manager uses.
type SubscriptionProperties struct {
	Destination           *Destination           `json:"destination,omitempty" yaml:"destination"`
	Filter                *Filter                `json:"filter,omitempty" yaml:"filter"`
	EventDeliverySchema   string                 `json:"eventDeliverySchema,omitempty" yaml:"eventDeliverySchema"`
	RetryPolicy           *RetryPolicy           `json:"retryPolicy,omitempty" yaml:"retryPolicy"`
	DeadLetterDestination *DeadLetterDestination `json:"deadLetterDestination,omitempty" yaml:"deadLetterDestination"`
	DeliveryConfiguration *DeliveryConfiguration `json:"deliveryConfiguration,omitempty" yaml:"deliveryConfiguration"`
	Labels                []string               `json:"labels,omitempty" yaml:"labels"`
}

// Destination is where push delivery sends events.
type Destination struct {
	EndpointType string                `json:"endpointType" yaml:"endpointType"`
	Properties   DestinationProperties `json:"properties" yaml:"properties"`
}

// DestinationProperties configure a destination. EndpointURL is for webhooks;
// ResourceID names the queue, topic, workflow or function of other types.
type DestinationProperties struct {
	EndpointURL                   string              `json:"endpointUrl,omitempty" yaml:"endpointUrl"`
	ResourceID                    string              `json:"resourceId,omitempty" yaml:"resourceId"`
	MaxEventsPerBatch             int                 `json:"maxEventsPerBatch,omitempty" yaml:"maxEventsPerBatch"`
	PreferredBatchSizeInKilobytes int                 `json:"preferredBatchSizeInKilobytes,omitempty" yaml:"preferredBatchSizeInKilobytes"`
	DeliveryAttributeMappings     []DeliveryAttribute `json:"deliveryAttributeMappings,omitempty" yaml:"deliveryAttributeMappings"`
}

// DeliveryAttribute is a custom delivery header, static or taken from the event.
type DeliveryAttribute struct {
	Name       string                      `json:"name" yaml:"name"`
	Type       string                      `json:"type" yaml:"type"` // Static or Dynamic
	Properties DeliveryAttributeProperties `json:"properties" yaml:"properties"`
}

// DeliveryAttributeProperties hold a header's value or its source field.
type DeliveryAttributeProperties struct {
	Value       string `json:"value,omitempty" yaml:"value"`
	IsSecret    bool   `json:"isSecret,omitempty" yaml:"isSecret"`
	SourceField string `json:"sourceField,omitempty" yaml:"sourceField"`
}

// RetryPolicy bounds push delivery retries.
type RetryPolicy struct {
	MaxDeliveryAttempts      int `json:"maxDeliveryAttempts,omitempty" yaml:"maxDeliveryAttempts"`
	EventTimeToLiveInMinutes int `json:"eventTimeToLiveInMinutes,omitempty" yaml:"eventTimeToLiveInMinutes"`
}

// DeadLetterDestination turns dead-lettering on. Junction keeps dead letters in
// its store (listable and replayable) whatever the endpoint type names.
type DeadLetterDestination struct {
	EndpointType string         `json:"endpointType" yaml:"endpointType"`
	Properties   map[string]any `json:"properties,omitempty" yaml:"properties"`
}

// DeliveryConfiguration selects pull (Queue) or push delivery, as namespace
// topic subscriptions do.
type DeliveryConfiguration struct {
	DeliveryMode string       `json:"deliveryMode" yaml:"deliveryMode"` // Push or Queue
	Queue        *QueueConfig `json:"queue,omitempty" yaml:"queue"`
}

// QueueConfig configures pull delivery.
type QueueConfig struct {
	ReceiveLockDurationInSeconds int `json:"receiveLockDurationInSeconds,omitempty" yaml:"receiveLockDurationInSeconds"`
	MaxDeliveryCount             int `json:"maxDeliveryCount,omitempty" yaml:"maxDeliveryCount"`
	// EventTimeToLiveInMinutes bounds how long an event waits to be received.
	EventTimeToLiveInMinutes int `json:"eventTimeToLiveInMinutes,omitempty" yaml:"eventTimeToLiveInMinutes"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,63}$`)

// ValidateName checks a topic or subscription name (3-64 letters, digits, hyphens).
func ValidateName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%s name %q must be 3-64 letters, digits and hyphens, starting with a letter or digit", kind, name)
	}
	return nil
}

// normalize fills defaults and checks a topic's properties.
func (p *TopicProperties) normalize() error {
	if p.InputSchema == "" {
		p.InputSchema = SchemaEventGrid
	}
	if p.InputSchema != SchemaEventGrid && p.InputSchema != SchemaCloudEvents {
		return fieldErr("properties.inputSchema", "must be %s or %s, not %q", SchemaEventGrid, SchemaCloudEvents, p.InputSchema)
	}
	if p.Kind == "" {
		p.Kind = KindCustom
	}
	if p.Kind != KindCustom && p.Kind != KindNamespace {
		return fieldErr("properties.kind", "must be Custom or Namespace, not %q", p.Kind)
	}
	return nil
}

// FieldError is a definition problem that names its field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Defaults of a subscription.
const (
	defaultMaxAttempts     = 30
	defaultTTLMinutes      = 1440
	defaultBatchKB         = 64
	defaultLockSeconds     = 60
	defaultMaxDeliveryPull = 10
)

// normalize fills defaults and checks a subscription's properties. inputSchema
// is the topic's.
func (p *SubscriptionProperties) normalize(inputSchema string) error {
	if p.DeliveryConfiguration != nil {
		dc := p.DeliveryConfiguration
		if dc.DeliveryMode == "" {
			dc.DeliveryMode = "Push"
		}
		if dc.DeliveryMode != "Push" && dc.DeliveryMode != "Queue" {
			return fieldErr("properties.deliveryConfiguration.deliveryMode", "must be Push or Queue, not %q", dc.DeliveryMode)
		}
		if dc.DeliveryMode == "Queue" {
			if dc.Queue == nil {
				dc.Queue = &QueueConfig{}
			}
			q := dc.Queue
			if q.ReceiveLockDurationInSeconds == 0 {
				q.ReceiveLockDurationInSeconds = defaultLockSeconds
			}
			if q.ReceiveLockDurationInSeconds < 60 || q.ReceiveLockDurationInSeconds > 300 {
				return fieldErr("properties.deliveryConfiguration.queue.receiveLockDurationInSeconds", "must be 60..300")
			}
			if q.MaxDeliveryCount == 0 {
				q.MaxDeliveryCount = defaultMaxDeliveryPull
			}
			if q.MaxDeliveryCount < 1 || q.MaxDeliveryCount > 10 {
				return fieldErr("properties.deliveryConfiguration.queue.maxDeliveryCount", "must be 1..10")
			}
			if q.EventTimeToLiveInMinutes == 0 {
				q.EventTimeToLiveInMinutes = 7 * 1440
			}
			if q.EventTimeToLiveInMinutes < 1 || q.EventTimeToLiveInMinutes > 7*1440 {
				return fieldErr("properties.deliveryConfiguration.queue.eventTimeToLiveInMinutes", "must be 1..10080")
			}
			if p.Destination != nil {
				return fieldErr("properties.destination", "a Queue (pull) subscription has no destination")
			}
			if p.EventDeliverySchema == "" {
				p.EventDeliverySchema = SchemaCloudEvents
			}
			if p.EventDeliverySchema != SchemaCloudEvents {
				return fieldErr("properties.eventDeliverySchema", "pull delivery uses %s", SchemaCloudEvents)
			}
			return p.Filter.normalize()
		}
	}
	if p.Destination == nil {
		return fieldErr("properties.destination", "is required")
	}
	d := p.Destination
	if !knownEndpoints[d.EndpointType] {
		return fieldErr("properties.destination.endpointType", "must be one of WebHook, ServiceBusQueue, ServiceBusTopic, Workflow, Function, AzureFunction; not %q", d.EndpointType)
	}
	dp := &d.Properties
	if d.EndpointType == EndpointWebHook {
		u, err := url.Parse(dp.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fieldErr("properties.destination.properties.endpointUrl", "must be an absolute http or https URL, not %q", dp.EndpointURL)
		}
	} else if dp.ResourceID == "" {
		return fieldErr("properties.destination.properties.resourceId", "names the %s to deliver to and is required", d.EndpointType)
	}
	if dp.MaxEventsPerBatch == 0 {
		dp.MaxEventsPerBatch = 1
	}
	if dp.MaxEventsPerBatch < 1 || dp.MaxEventsPerBatch > 5000 {
		return fieldErr("properties.destination.properties.maxEventsPerBatch", "must be 1..5000")
	}
	if dp.PreferredBatchSizeInKilobytes == 0 {
		dp.PreferredBatchSizeInKilobytes = defaultBatchKB
	}
	if dp.PreferredBatchSizeInKilobytes < 1 || dp.PreferredBatchSizeInKilobytes > 1024 {
		return fieldErr("properties.destination.properties.preferredBatchSizeInKilobytes", "must be 1..1024")
	}
	if len(dp.DeliveryAttributeMappings) > 10 {
		return fieldErr("properties.destination.properties.deliveryAttributeMappings", "at most 10 delivery headers are allowed")
	}
	for i, a := range dp.DeliveryAttributeMappings {
		f := fmt.Sprintf("properties.destination.properties.deliveryAttributeMappings[%d]", i)
		if a.Name == "" || strings.ContainsAny(a.Name, " :\r\n") {
			return fieldErr(f+".name", "must be a header name")
		}
		switch strings.ToLower(a.Name) {
		case "aeg-event-type", "aeg-subscription-name", "aeg-delivery-count", "aeg-metadata-version", "aeg-data-version",
			"aeg-output-event-id", "content-type", "content-length", "host", "webhook-id", "webhook-timestamp", "webhook-signature":
			return fieldErr(f+".name", "%q is set by the router and cannot be overridden", a.Name)
		}
		switch a.Type {
		case "Static":
			if strings.ContainsAny(a.Properties.Value, "\r\n") {
				return fieldErr(f+".properties.value", "must be one line")
			}
		case "Dynamic":
			if a.Properties.SourceField == "" {
				return fieldErr(f+".properties.sourceField", "is required for a Dynamic header")
			}
		default:
			return fieldErr(f+".type", "must be Static or Dynamic, not %q", a.Type)
		}
	}
	if p.EventDeliverySchema == "" {
		p.EventDeliverySchema = inputSchema
	}
	if p.EventDeliverySchema != SchemaEventGrid && p.EventDeliverySchema != SchemaCloudEvents {
		return fieldErr("properties.eventDeliverySchema", "must be %s or %s, not %q", SchemaEventGrid, SchemaCloudEvents, p.EventDeliverySchema)
	}
	if p.RetryPolicy == nil {
		p.RetryPolicy = &RetryPolicy{}
	}
	if p.RetryPolicy.MaxDeliveryAttempts == 0 {
		p.RetryPolicy.MaxDeliveryAttempts = defaultMaxAttempts
	}
	if p.RetryPolicy.MaxDeliveryAttempts < 1 || p.RetryPolicy.MaxDeliveryAttempts > 30 {
		return fieldErr("properties.retryPolicy.maxDeliveryAttempts", "must be 1..30")
	}
	if p.RetryPolicy.EventTimeToLiveInMinutes == 0 {
		p.RetryPolicy.EventTimeToLiveInMinutes = defaultTTLMinutes
	}
	if p.RetryPolicy.EventTimeToLiveInMinutes < 1 || p.RetryPolicy.EventTimeToLiveInMinutes > 1440 {
		return fieldErr("properties.retryPolicy.eventTimeToLiveInMinutes", "must be 1..1440")
	}
	if p.DeadLetterDestination != nil && p.DeadLetterDestination.EndpointType == "" {
		return fieldErr("properties.deadLetterDestination.endpointType", "is required")
	}
	return p.Filter.normalize()
}

func (p *SubscriptionProperties) pull() bool {
	return p.DeliveryConfiguration != nil && p.DeliveryConfiguration.DeliveryMode == "Queue"
}

// clone deep-copies the properties through JSON.
func (p SubscriptionProperties) clone() SubscriptionProperties {
	b, _ := json.Marshal(p)
	var out SubscriptionProperties
	_ = json.Unmarshal(b, &out)
	return out
}
