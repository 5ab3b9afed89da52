package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"junction/internal/records"
)

// Authentication types of a webhook (serviceendpoint.authtype).
const (
	authWebhookKey  = 4
	authHTTPHeader  = 5
	authQueryString = 6
)

// errPermanent marks a post that retrying cannot make succeed.
var errPermanent = errors.New("permanent")

// post delivers body, a RemoteExecutionContext, to st's endpoint.
func (s *Service) post(ctx context.Context, st step, table, message, correlation string, body []byte) error {
	e := st.Endpoint
	switch e.Contract {
	case contractWebhook:
		return s.postWebhook(ctx, e, table, message, correlation, body)
	case contractQueue, contractQueuePersistent, contractTopic:
		if s.broker == nil || !s.own(e.Namespace) {
			return fmt.Errorf("%w: the namespace %q is not Junction's own broker", errPermanent, e.Namespace)
		}
		// The properties Dataverse sets on the messages it sends.
		props := map[string]any{
			"http://schemas.microsoft.com/xrm/2011/Claims/Organization":      s.orgName,
			"http://schemas.microsoft.com/xrm/2011/Claims/EntityLogicalName": table,
			"http://schemas.microsoft.com/xrm/2011/Claims/RequestName":       message,
		}
		return s.broker.SendStep(ctx, strings.Trim(e.Path, "/"), body, props)
	case contractEventGrid:
		if s.events == nil {
			return fmt.Errorf("%w: Junction's events are not available", errPermanent)
		}
		ev, err := json.Marshal(map[string]any{"id": records.NewID(), "subject": table, "eventType": message,
			"eventTime": time.Now().UTC().Format(time.RFC3339Nano), "dataVersion": "1.0", "data": json.RawMessage(body)})
		if err != nil {
			return err
		}
		return s.events.Publish(ctx, e.URL, []json.RawMessage{ev})
	}
	return fmt.Errorf("%w: the contract %d is not supported", errPermanent, e.Contract)
}

// settings is the XML the Plugin Registration Tool writes in authvalue for
// HttpHeader and HttpQueryString authentication.
type settings struct {
	Settings []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"setting"`
}

// authSettings reads the names and values of an HttpHeader or
// HttpQueryString authentication value; a setting without a name is an
// error.
func authSettings(value string) (settings, error) {
	var set settings
	if err := xml.Unmarshal([]byte(value), &set); err != nil {
		return set, fmt.Errorf("the authentication value is not <settings><setting name=\"...\" value=\"...\" /></settings>: %v", err)
	}
	for _, kv := range set.Settings {
		if strings.TrimSpace(kv.Name) == "" {
			return set, errors.New("a setting of the authentication value has no name")
		}
	}
	return set, nil
}

// postWebhook posts body as the "Use webhooks to create external handlers
// for server events" page describes: JSON, with the x-ms-dynamics headers,
// and the endpoint's key in ?code=, its headers or its query string.
func (s *Service) postWebhook(ctx context.Context, e endpoint, table, message, correlation string, body []byte) error {
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%w: the webhook URL %q is not an http(s) URL", errPermanent, e.URL)
	}
	headers := http.Header{}
	q := u.Query()
	switch e.AuthType {
	case authWebhookKey:
		q.Set("code", e.AuthValue)
	case authHTTPHeader, authQueryString:
		set, err := authSettings(e.AuthValue)
		if err != nil {
			return fmt.Errorf("%w: %v", errPermanent, err)
		}
		for _, kv := range set.Settings {
			if e.AuthType == authHTTPHeader {
				headers.Set(kv.Name, kv.Value)
			} else {
				q.Set(kv.Name, kv.Value)
			}
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header = headers
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ms-dynamics-organization", s.orgName)
	req.Header.Set("x-ms-dynamics-entity-name", table)
	req.Header.Set("x-ms-dynamics-request-name", message)
	req.Header.Set("x-ms-correlation-request-id", correlation)
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return nil
}
