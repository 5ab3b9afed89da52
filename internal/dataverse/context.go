package dataverse

import (
	"encoding/json"
	"fmt"
	"time"
)

// Contracts is the data contract namespace of the SDK types in "__type".
const Contracts = ":http://schemas.microsoft.com/xrm/2011/Contracts"

// RemoteExecutionContext is the execution context a Dataverse step posts to
// a service endpoint (a webhook, a Service Bus queue or topic, an Event Grid
// topic), in the SDK's data contract JSON: Microsoft.Xrm.Sdk's
// RemoteExecutionContext. Junction reads it (the Dataverse webhook of
// events) and writes it (the steps registered on its own tables). Fields
// are in the order Dataverse writes them.
type RemoteExecutionContext struct {
	BusinessUnitID                             string                  `json:"BusinessUnitId"`
	CorrelationID                              string                  `json:"CorrelationId"`
	Depth                                      int                     `json:"Depth"`
	InitiatingUserAgent                        *string                 `json:"InitiatingUserAgent,omitempty"`
	InitiatingUserAzureActiveDirectoryObjectID string                  `json:"InitiatingUserAzureActiveDirectoryObjectId"`
	InitiatingUserID                           string                  `json:"InitiatingUserId"`
	InputParameters                            []KeyValue              `json:"InputParameters"`
	IsExecutingOffline                         bool                    `json:"IsExecutingOffline"`
	IsInTransaction                            bool                    `json:"IsInTransaction"`
	IsOfflinePlayback                          bool                    `json:"IsOfflinePlayback"`
	IsolationMode                              int                     `json:"IsolationMode"`
	MessageName                                string                  `json:"MessageName"`
	Mode                                       int                     `json:"Mode"`
	OperationCreatedOn                         string                  `json:"OperationCreatedOn"`
	OperationID                                string                  `json:"OperationId"`
	OrganizationID                             string                  `json:"OrganizationId"`
	OrganizationName                           string                  `json:"OrganizationName"`
	OutputParameters                           []KeyValue              `json:"OutputParameters"`
	OwningExtension                            *EntityReference        `json:"OwningExtension"`
	ParentContext                              *RemoteExecutionContext `json:"ParentContext"`
	PostEntityImages                           []KeyValue              `json:"PostEntityImages"`
	PreEntityImages                            []KeyValue              `json:"PreEntityImages"`
	PrimaryEntityID                            string                  `json:"PrimaryEntityId"`
	PrimaryEntityName                          string                  `json:"PrimaryEntityName"`
	RequestID                                  *string                 `json:"RequestId"`
	SecondaryEntityName                        string                  `json:"SecondaryEntityName"`
	SharedVariables                            []KeyValue              `json:"SharedVariables"`
	Stage                                      int                     `json:"Stage"`
	UserAzureActiveDirectoryObjectID           string                  `json:"UserAzureActiveDirectoryObjectId"`
	UserID                                     string                  `json:"UserId"`
}

// KeyValue is one entry of a data contract collection (parameters,
// attributes, images): {"key": ..., "value": ...}.
type KeyValue struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// SDKEntity is the SDK's Entity: a table's row, or the columns a message
// carries, as an InputParameters Target or an image.
type SDKEntity struct {
	Type            string     `json:"__type,omitempty"`
	Attributes      []KeyValue `json:"Attributes"`
	EntityState     *int       `json:"EntityState"`
	FormattedValues []KeyValue `json:"FormattedValues"`
	ID              string     `json:"Id"`
	KeyAttributes   []KeyValue `json:"KeyAttributes"`
	LogicalName     string     `json:"LogicalName"`
	RelatedEntities []KeyValue `json:"RelatedEntities"`
	RowVersion      *string    `json:"RowVersion"`
}

// EntityReference is the SDK's EntityReference: a lookup's value, or the
// step that owns a context (OwningExtension, written without "__type").
type EntityReference struct {
	Type          string     `json:"__type,omitempty"`
	ID            string     `json:"Id"`
	KeyAttributes []KeyValue `json:"KeyAttributes"`
	LogicalName   string     `json:"LogicalName"`
	Name          *string    `json:"Name"`
	RowVersion    *string    `json:"RowVersion"`
}

// NewEntity is an empty Entity of table id, with "__type" set, ready for
// attributes.
func NewEntity(table, id string) SDKEntity {
	return SDKEntity{Type: "Entity" + Contracts, Attributes: []KeyValue{}, FormattedValues: []KeyValue{}, ID: id,
		KeyAttributes: []KeyValue{}, LogicalName: table, RelatedEntities: []KeyValue{}}
}

// NewReference is an EntityReference value (with "__type") to row id of table.
func NewReference(table, id string) EntityReference {
	return EntityReference{Type: "EntityReference" + Contracts, ID: id, KeyAttributes: []KeyValue{}, LogicalName: table}
}

// Pair marshals v as the value of a KeyValue.
func Pair(key string, v any) (KeyValue, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return KeyValue{}, fmt.Errorf("%s: %w", key, err)
	}
	return KeyValue{Key: key, Value: raw}, nil
}

// contractValue is a data contract value with a "__type": OptionSetValue, Money.
type contractValue struct {
	Type  string `json:"__type"`
	Value any    `json:"Value"`
}

// OptionSetValue is a choice's value in data contract form.
func OptionSetValue(v int64) any { return contractValue{Type: "OptionSetValue" + Contracts, Value: v} }

// MoneyValue is a currency amount in data contract form.
func MoneyValue(v any) any { return contractValue{Type: "Money" + Contracts, Value: v} }

// Date is a date in the data contract form "/Date(1506409448000)/".
func Date(t time.Time) string { return fmt.Sprintf("/Date(%d)/", t.UnixMilli()) }
