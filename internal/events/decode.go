package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"junction/internal/server"
)

// Publish limits, as Event Grid has them.
const (
	MaxEventSize   = 1 << 20 // bytes per event
	MaxRequestSize = 1 << 20 // bytes per publish request
	MaxBatchEvents = 5000
)

// apiError is an error answer of the Event Grid data plane.
type apiError struct {
	Status  int
	Code    string
	Message string
	Detail  string // the detail code, e.g. InputJsonInvalid
}

func (e *apiError) Error() string { return e.Message }

func badInput(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...), Detail: "InputJsonInvalid"}
}

func tooLarge(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Message: fmt.Sprintf(format, args...)}
}

// write renders e the way Event Grid does: {"error":{"code","message","details"}}.
func (e *apiError) write(w http.ResponseWriter) {
	body := map[string]any{"code": e.Code, "message": e.Message}
	if e.Detail != "" {
		body["details"] = []map[string]string{{"code": e.Detail, "message": e.Message}}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"error": body})
}

// splitArray splits a JSON array (or a single object, taken as a batch of one)
// into its raw elements, enforcing the batch and per-event limits.
func splitArray(body []byte) ([]json.RawMessage, *apiError) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, badInput("the request body is empty; expected a JSON array of events")
	}
	if trimmed[0] == '{' {
		trimmed = append(append([]byte{'['}, trimmed...), ']')
	}
	if trimmed[0] != '[' {
		return nil, badInput("the request body is not a JSON array of events")
	}
	var items []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&items); err != nil {
		return nil, badInput("the request body is not valid JSON: %s", server.DescribeJSONError(err))
	}
	if dec.More() {
		return nil, badInput("the request body has data after the JSON array")
	}
	if len(items) == 0 {
		return nil, badInput("the request has no events")
	}
	if len(items) > MaxBatchEvents {
		return nil, tooLarge("the request has %d events; at most %d are allowed per request", len(items), MaxBatchEvents)
	}
	for i, it := range items {
		if len(it) > MaxEventSize {
			return nil, tooLarge("event %d is %d bytes; at most %d are allowed per event", i, len(it), MaxEventSize)
		}
	}
	return items, nil
}

// DecodeEventGrid decodes a publish body in the Event Grid schema: a JSON array
// of {id, subject, eventType, eventTime, data, dataVersion}. topic is stamped.
func DecodeEventGrid(body []byte, topic string) ([]Event, error) {
	evs, err := decodeEventGrid(body, topic)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

func decodeEventGrid(body []byte, topic string) ([]Event, *apiError) {
	items, aerr := splitArray(body)
	if aerr != nil {
		return nil, aerr
	}
	out := make([]Event, 0, len(items))
	for i, raw := range items {
		var in struct {
			ID          *string         `json:"id"`
			Subject     *string         `json:"subject"`
			EventType   *string         `json:"eventType"`
			EventTime   *string         `json:"eventTime"`
			DataVersion *string         `json:"dataVersion"`
			Data        json.RawMessage `json:"data"`
			Topic       *string         `json:"topic"`
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, badInput("event %d is not a valid Event Grid event: %v", i, err)
		}
		for _, req := range []struct {
			name string
			v    *string
		}{{"id", in.ID}, {"subject", in.Subject}, {"eventType", in.EventType}, {"eventTime", in.EventTime}} {
			if req.v == nil || (*req.v == "" && req.name != "subject") {
				return nil, badInput("Required property '%s' was not set (event %d).", req.name, i)
			}
		}
		if *in.Subject == "" {
			return nil, badInput("Required property 'subject' was not set (event %d).", i)
		}
		if _, err := time.Parse(time.RFC3339Nano, *in.EventTime); err != nil {
			return nil, badInput("Property 'eventTime' of event %d is not a valid RFC 3339 time: %q.", i, *in.EventTime)
		}
		e := Event{Schema: SchemaEventGrid, ID: *in.ID, Topic: topicPath(topic), Source: topicPath(topic), Subject: *in.Subject,
			Type: *in.EventType, Time: *in.EventTime}
		if in.DataVersion != nil {
			e.DataVersion = *in.DataVersion
		}
		if len(in.Data) > 0 && !bytes.Equal(in.Data, []byte("null")) {
			e.Data = compact(in.Data)
		}
		out = append(out, e)
	}
	return out, nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// ceContext are the CloudEvents context attributes that are not extensions.
var ceContext = map[string]bool{"specversion": true, "id": true, "source": true, "type": true, "subject": true, "time": true,
	"datacontenttype": true, "dataschema": true, "data": true, "data_base64": true}

// DecodeCloudEvents decodes a CloudEvents 1.0 publish request in structured,
// batch or binary mode, chosen by the content type and the ce-* headers.
func DecodeCloudEvents(h http.Header, body []byte) ([]Event, error) {
	evs, err := decodeCloudEvents(h, body)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

func decodeCloudEvents(h http.Header, body []byte) ([]Event, *apiError) {
	ct := strings.ToLower(h.Get("Content-Type"))
	switch {
	case strings.HasPrefix(ct, "application/cloudevents-batch+json"):
		items, aerr := splitArray(body)
		if aerr != nil {
			return nil, aerr
		}
		return decodeStructured(items)
	case strings.HasPrefix(ct, "application/cloudevents+json"):
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] != '{' {
			return nil, badInput("a structured CloudEvent must be a JSON object")
		}
		items, aerr := splitArray(body)
		if aerr != nil {
			return nil, aerr
		}
		return decodeStructured(items)
	case h.Get("ce-specversion") != "":
		e, aerr := decodeBinary(h, body)
		if aerr != nil {
			return nil, aerr
		}
		return []Event{e}, nil
	case ct == "" || strings.HasPrefix(ct, "application/json"):
		items, aerr := splitArray(body)
		if aerr != nil {
			return nil, aerr
		}
		return decodeStructured(items)
	}
	return nil, badInput("content type %q is not a CloudEvents mode: use application/cloudevents+json, application/cloudevents-batch+json, or ce-* headers", h.Get("Content-Type"))
}

func decodeStructured(items []json.RawMessage) ([]Event, *apiError) {
	out := make([]Event, 0, len(items))
	for i, raw := range items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, badInput("CloudEvent %d is not a JSON object: %v", i, err)
		}
		attrs := map[string]any{}
		for k, v := range m {
			if k == "data" || k == "data_base64" {
				continue
			}
			var x any
			if err := json.Unmarshal(v, &x); err != nil {
				return nil, badInput("CloudEvent %d attribute %q: %v", i, k, err)
			}
			attrs[k] = x
		}
		e, aerr := fromAttributes(i, attrs)
		if aerr != nil {
			return nil, aerr
		}
		data, hasData := m["data"]
		b64, hasB64 := m["data_base64"]
		if hasData && hasB64 {
			return nil, badInput("CloudEvent %d has both data and data_base64", i)
		}
		if hasData && !bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			e.Data = compact(data)
		}
		if hasB64 {
			var s string
			if err := json.Unmarshal(b64, &s); err != nil {
				return nil, badInput("CloudEvent %d: data_base64 must be a string", i)
			}
			if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				return nil, badInput("CloudEvent %d: data_base64 is not valid base64", i)
			}
			e.DataBase64 = s
		}
		out = append(out, e)
	}
	return out, nil
}

// fromAttributes builds an event from CloudEvents attributes (structured mode
// values, or decoded binary-mode headers), checking the required ones.
func fromAttributes(i int, attrs map[string]any) (Event, *apiError) {
	str := func(name string) (string, *apiError) {
		v, ok := attrs[name]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", badInput("CloudEvent %d: attribute %q must be a string", i, name)
		}
		return s, nil
	}
	e := Event{Schema: SchemaCloudEvents}
	var aerr *apiError
	var spec string
	if spec, aerr = str("specversion"); aerr != nil {
		return e, aerr
	}
	for _, name := range []string{"id", "source", "specversion", "type"} {
		s, aerr := str(name)
		if aerr != nil {
			return e, aerr
		}
		if s == "" {
			return e, badInput("Required CloudEvents attribute '%s' was not set (event %d).", name, i)
		}
	}
	if spec != "1.0" {
		return e, badInput("CloudEvent %d has specversion %q; only 1.0 is supported", i, spec)
	}
	e.ID, _ = str("id")
	e.Source, _ = str("source")
	e.Type, _ = str("type")
	for _, f := range []struct {
		name string
		to   *string
	}{{"subject", &e.Subject}, {"time", &e.Time}, {"datacontenttype", &e.DataContentType}, {"dataschema", &e.DataSchema}} {
		s, aerr := str(f.name)
		if aerr != nil {
			return e, aerr
		}
		*f.to = s
	}
	if e.Time != "" {
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			return e, badInput("CloudEvent %d: time %q is not an RFC 3339 time", i, e.Time)
		}
	}
	for k, v := range attrs {
		if ceContext[k] {
			continue
		}
		if !validExtensionName(k) {
			return e, badInput("CloudEvent %d: attribute name %q must be 1-20 lowercase letters or digits", i, k)
		}
		switch v.(type) {
		case string, float64, bool:
		default:
			return e, badInput("CloudEvent %d: extension %q must be a string, number or boolean", i, k)
		}
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		e.Extensions[k] = v
	}
	return e, nil
}

func validExtensionName(k string) bool {
	if k == "" || len(k) > 20 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// decodeBinary decodes a binary-mode CloudEvent: attributes in ce-* headers,
// the body as data.
func decodeBinary(h http.Header, body []byte) (Event, *apiError) {
	if len(body) > MaxEventSize {
		return Event{}, tooLarge("the event is %d bytes; at most %d are allowed", len(body), MaxEventSize)
	}
	attrs := map[string]any{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "ce-") || len(vs) == 0 {
			continue
		}
		v, err := url.PathUnescape(vs[0])
		if err != nil {
			return Event{}, badInput("header %s is not percent-encoded correctly", k)
		}
		attrs[lk[3:]] = v
	}
	delete(attrs, "data")
	delete(attrs, "data_base64")
	e, aerr := fromAttributes(0, attrs)
	if aerr != nil {
		return e, aerr
	}
	e.DataContentType = h.Get("Content-Type")
	if len(body) > 0 {
		if isJSONContentType(e.DataContentType) {
			if !json.Valid(body) {
				return e, badInput("the body is not valid JSON but the content type is %q", e.DataContentType)
			}
			e.Data = compact(body)
		} else if strings.HasPrefix(strings.ToLower(e.DataContentType), "text/") {
			s, _ := json.Marshal(string(body))
			e.Data = s
		} else {
			e.DataBase64 = base64.StdEncoding.EncodeToString(body)
		}
	}
	return e, nil
}
