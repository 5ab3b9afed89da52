package events

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"junction/internal/changelog"
	"junction/internal/dataverse"
	"junction/internal/server"
	"junction/internal/store"
)

// WebhookKeyHeader is the header a Dataverse webhook registration (HttpHeader
// authentication) can carry the key in; WebhookKey registrations add ?code=.
const WebhookKeyHeader = "x-junction-webhook-key"

var msDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

// ParseDataverseDate parses the data contract date form "\/Date(1506409448000)\/".
func ParseDataverseDate(s string) (time.Time, bool) {
	m := msDate.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// typedValue turns one data contract value into a plain JSON value: dates
// become RFC 3339 strings, EntityReference its id (with the name and table
// beside it in a map), OptionSetValue and Money their Value, entities their
// attributes.
func typedValue(raw json.RawMessage) (any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return plain(v), nil
}

func plain(v any) any {
	switch x := v.(type) {
	case string:
		if t, ok := ParseDataverseDate(x); ok {
			return t.Format(time.RFC3339Nano)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = plain(x[i])
		}
		return out
	case map[string]any:
		t, _ := x["__type"].(string)
		kind, _, _ := strings.Cut(t, ":")
		switch kind {
		case "EntityReference":
			return map[string]any{"id": x["Id"], "logicalName": x["LogicalName"], "name": x["Name"]}
		case "OptionSetValue", "Money", "BooleanManagedProperty":
			return plain(x["Value"])
		case "OptionSetValueCollection", "EntityCollection":
			if items, ok := x["Entities"].([]any); ok {
				return plain(items)
			}
			return plain(x["Value"])
		case "Entity":
			return attrsOf(x["Attributes"])
		}
		out := make(map[string]any, len(x))
		for k, vv := range x {
			if k != "__type" {
				out[k] = plain(vv)
			}
		}
		return out
	}
	return v
}

func attrsOf(v any) map[string]any {
	list, _ := v.([]any)
	out := make(map[string]any, len(list))
	for _, it := range list {
		kv, _ := it.(map[string]any)
		k, _ := kv["key"].(string)
		if k == "" {
			continue
		}
		out[k] = plain(kv["value"])
	}
	return out
}

func findParam(list []dataverse.KeyValue, key string) (json.RawMessage, bool) {
	for _, kv := range list {
		if strings.EqualFold(kv.Key, key) {
			return kv.Value, true
		}
	}
	return nil, false
}

// firstImage returns the attributes of the first image of a list.
func firstImage(list []dataverse.KeyValue) (map[string]any, error) {
	if len(list) == 0 {
		return nil, nil
	}
	v, err := typedValue(list[0].Value)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// ExternalSource is the change-log source of a change a Dataverse org posted:
// the org's name, never empty and never "junction", so that it cannot pass for
// a change of Junction's own tables.
func ExternalSource(org string) string {
	org = strings.TrimSpace(org)
	switch {
	case org == "":
		return "dataverse-webhook"
	case strings.EqualFold(strings.TrimPrefix(org, "/"), changelog.SourceJunction):
		return "dataverse-webhook:" + org
	}
	return org
}

// DataverseChange turns a RemoteExecutionContext into a change in the shape
// of Junction's own, with the org as its source. org names the source.
func DataverseChange(body []byte, org string) (changelog.Change, error) {
	var rc dataverse.RemoteExecutionContext
	if err := json.Unmarshal(body, &rc); err != nil {
		return changelog.Change{}, fmt.Errorf("the body is not a RemoteExecutionContext: %w", err)
	}
	if rc.MessageName == "" || rc.PrimaryEntityName == "" {
		return changelog.Change{}, errors.New("MessageName and PrimaryEntityName are required")
	}
	c := changelog.Change{Source: org, Table: rc.PrimaryEntityName, RecordID: strings.ToLower(rc.PrimaryEntityID), Message: rc.MessageName,
		CorrelationID: rc.CorrelationID, UserID: rc.InitiatingUserID, Changed: []string{}}
	if c.UserID == "" || c.UserID == "00000000-0000-0000-0000-000000000000" {
		c.UserID = rc.UserID
	}
	if c.Source == "" {
		c.Source = rc.OrganizationName
	}
	c.Source = ExternalSource(c.Source)
	if t, ok := ParseDataverseDate(rc.OperationCreatedOn); ok {
		c.At = t
	}
	var err error
	if c.Before, err = firstImage(rc.PreEntityImages); err != nil {
		return c, fmt.Errorf("PreEntityImages: %w", err)
	}
	if c.After, err = firstImage(rc.PostEntityImages); err != nil {
		return c, fmt.Errorf("PostEntityImages: %w", err)
	}
	if raw, ok := findParam(rc.InputParameters, "Target"); ok {
		var target dataverse.SDKEntity
		if err := json.Unmarshal(raw, &target); err != nil {
			return c, fmt.Errorf("InputParameters Target: %w", err)
		}
		if c.RecordID == "" {
			c.RecordID = strings.ToLower(target.ID)
		}
		kind, _, _ := strings.Cut(target.Type, ":")
		if kind == "Entity" || (kind == "" && target.Attributes != nil) {
			attrs := map[string]any{}
			for _, kv := range target.Attributes {
				v, err := typedValue(kv.Value)
				if err != nil {
					return c, fmt.Errorf("Target attribute %s: %w", kv.Key, err)
				}
				attrs[kv.Key] = v
				c.Changed = append(c.Changed, kv.Key)
			}
			if c.After == nil && c.Message != changelog.Delete {
				c.After = attrs
			}
		}
	}
	if c.RecordID == "" {
		return c, errors.New("PrimaryEntityId is required")
	}
	return c, nil
}

// handleDataverse accepts what a Dataverse webhook posts and appends the change
// to the change log (the dispatcher then publishes it like any other change).
func (r *Router) handleDataverse(w http.ResponseWriter, req *http.Request) {
	key := req.URL.Query().Get("code")
	if key == "" {
		key = req.Header.Get(WebhookKeyHeader)
	}
	var t topicRow
	err := r.st.Read(req.Context(), func(q store.Querier) (err error) { t, err = getTopic(req.Context(), q, RecordsTopic); return })
	if err != nil {
		r.internal(w, err)
		return
	}
	// Only a key made for this endpoint: a key of the records topic. A
	// bearer API key is refused whatever its role: a sender key publishes to
	// its own topics, it does not speak for a Dataverse org.
	okKey := key != "" && (subtle.ConstantTimeCompare([]byte(key), []byte(t.Key1)) == 1 || subtle.ConstantTimeCompare([]byte(key), []byte(t.Key2)) == 1)
	if !okKey {
		server.WriteError(w, http.StatusUnauthorized, server.CodeUnauthorized, "a webhook key is required: ?code=<key> or the "+WebhookKeyHeader+" header (a key of the records topic); API keys are not accepted here")
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		server.WriteError(w, http.StatusRequestEntityTooLarge, server.CodeTooLarge, "the body is too large")
		return
	}
	org := req.Header.Get("x-ms-dynamics-organization")
	c, err := DataverseChange(body, org)
	if err != nil {
		server.WriteError(w, http.StatusBadRequest, server.CodeBadRequest, err.Error())
		return
	}
	if c.CorrelationID == "" {
		c.CorrelationID = req.Header.Get("x-ms-correlation-request-id")
	}
	if req.Header.Get("x-ms-dynamics-msg-size-exceeded") != "" && c.After == nil && c.Before == nil {
		// Dataverse dropped the images to stay under 256 KB; the change still
		// names the row, and receivers can read it from the org.
		r.log.Info("events: Dataverse message size exceeded; images were dropped", "table", c.Table, "id", c.RecordID)
	}
	// Dataverse retries a webhook it saw fail; its RequestId makes the retry
	// land once.
	var ids struct {
		RequestID string `json:"RequestId"`
	}
	_ = json.Unmarshal(body, &ids)
	var seq int64
	duplicate := false
	err = r.st.Tx(req.Context(), func(tx store.Tx) (err error) {
		if ids.RequestID != "" {
			err := tx.QueryRow(req.Context(), `SELECT seq FROM events_dataverse_requests WHERE request_id = ?`, ids.RequestID).Scan(&seq)
			if err == nil {
				duplicate = true
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if seq, err = changelog.Append(req.Context(), tx, c); err != nil {
			return err
		}
		if ids.RequestID != "" {
			_, err = tx.Exec(req.Context(), `INSERT INTO events_dataverse_requests (request_id, seq, at) VALUES (?, ?, ?)`,
				ids.RequestID, seq, store.Micros(r.now()))
		}
		return err
	})
	if err != nil {
		r.internal(w, err)
		return
	}
	// The change's event is named by its position in the log, which it gets
	// after its commit.
	out := map[string]any{"duplicate": duplicate}
	pos, err := changelog.PositionOf(req.Context(), r.st, seq)
	switch {
	case err == nil:
		out["sequence"], out["eventId"] = pos, ChangeEventID(pos)
	case !duplicate || !errors.Is(err, store.ErrNotFound): // a retry after retention deleted the change: no position
		r.internal(w, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, out)
}
