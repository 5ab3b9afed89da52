package amqp

import (
	"context"
	"net/http"
	"strings"
	"time"

	"junction/internal/broker"
	"junction/internal/broker/httpapi"
)

// rpcResponse is the answer to a $cbs or $management request.
type rpcResponse struct {
	status int32
	desc   string
	cond   Symbol
	value  any
}

func ok(v any) rpcResponse { return rpcResponse{status: http.StatusOK, desc: "OK", value: v} }

func failed(status int32, cond Symbol, desc string) rpcResponse {
	return rpcResponse{status: status, cond: cond, desc: desc}
}

// rpcFailure maps an error to a status code the SDKs understand.
func rpcFailure(err error) rpcResponse {
	e := brokerError(err)
	status := int32(http.StatusInternalServerError)
	switch e.Condition {
	case condNotAllowed, condDecode, condInvalidField:
		status = http.StatusBadRequest
	case condNotFound:
		status = http.StatusNotFound
	case condLockLost, condSessionLockLost:
		status = http.StatusGone
	case condSessionLocked:
		status = http.StatusConflict
	case condMessageSize, condResourceLimit:
		status = http.StatusForbidden
	case condUnauthorized:
		status = http.StatusUnauthorized
	case condTimeout:
		status = http.StatusRequestTimeout
	case condNotImplemented:
		status = http.StatusNotImplemented
	}
	if broker.KindOf(err) == broker.KindMessageNotFound {
		e.Condition = "com.microsoft:message-not-found"
	}
	return failed(status, e.Condition, e.Description)
}

// request answers one request on a $cbs or $management link.
func (l *link) request(d inDelivery) {
	m, err := decodeMessage(d.payload)
	if err != nil {
		l.accept(d, errorf(condDecode, "%v", err))
		return
	}
	l.accept(d, nil)
	r := fieldReader{f: m.props, name: "properties"}
	msgID := r.get(0)
	replyTo := r.string(4)
	op := ""
	if v, ok := m.appProps.Get("operation"); ok {
		op, _ = v.(string)
		if s, ok := v.(Symbol); ok {
			op = string(s)
		}
	}
	var resp rpcResponse
	if l.kind == kindCBS {
		resp = l.s.c.putToken(op, m)
	} else {
		resp = l.manage(op, m)
	}
	l.s.c.reply(l, replyTo, msgID, resp)
}

// reply sends resp to the link whose target is replyTo.
func (c *conn) reply(from *link, replyTo string, msgID any, resp rpcResponse) {
	c.mu.Lock()
	rl := c.replies[replyTo]
	c.mu.Unlock()
	if rl == nil {
		// Else the reply link of the same node on the request's session.
		from.s.mu.Lock()
		for _, l := range from.s.links {
			if l.kind == kindReply && strings.EqualFold(l.path, from.path) {
				rl = l
				break
			}
		}
		from.s.mu.Unlock()
	}
	if rl == nil {
		c.s.log.Debug("amqp: no link for the reply", "reply-to", replyTo, "node", from.path)
		return
	}
	app := Map{{"status-code", resp.status}, {"status-description", resp.desc}, {"statusCode", resp.status}, {"statusDescription", resp.desc}}
	if resp.cond != "" {
		app = append(app, Pair{"error-condition", resp.cond})
	}
	var b []byte
	b, _ = Append(b, Described{uint64(secProperties), []any{nil, nil, nil, nil, nil, msgID}})
	b, _ = Append(b, Described{uint64(secAppProps), app})
	payload, err := Append(b, Described{uint64(secValue), resp.value})
	if err != nil {
		c.s.log.Error("amqp: encode reply", "err", err)
		return
	}
	rl.sendReply(payload)
}

// putToken takes a token for an audience (a put-token request to $cbs).
func (c *conn) putToken(op string, m *message) rpcResponse {
	if op != "put-token" {
		return failed(http.StatusBadRequest, condNotImplemented, "the $cbs node supports put-token only")
	}
	audience := ""
	if v, ok := m.appProps.Get("name"); ok {
		audience, _ = v.(string)
	}
	token, _ := m.value.(string)
	if b, ok := m.value.([]byte); ok {
		token = string(b)
	}
	if token == "" && len(m.data) == 1 {
		token = string(m.data[0])
	}
	if token == "" {
		return failed(http.StatusBadRequest, condDecode, "the request carries no token")
	}
	// A token for an entity's $management node (the JavaScript SDK's rule
	// manager asks for one) is a token for the entity.
	scope := strings.TrimSuffix(strings.ToLower(entityPath(audience)), "/$management")
	ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
	defer cancel()
	expires, err := c.s.cfg.Auth.AuthorizeToken(ctx, token, scope, "")
	if err != nil {
		c.s.log.Debug("amqp put-token refused", "audience", audience, "err", err)
		return failed(http.StatusUnauthorized, condUnauthorized, err.Error())
	}
	c.mu.Lock()
	c.tokens[scope] = cbsToken{token: token, expires: expires}
	c.mu.Unlock()
	return rpcResponse{status: http.StatusAccepted, desc: "Accepted"}
}

// authorize finds a token of the connection that grants need on path: the
// most specific $cbs token first, then the SASL PLAIN identity. It returns
// the scope of the $cbs token used (nil for PLAIN).
func (c *conn) authorize(path string, need Right) (*string, *amqpError) {
	lower := strings.ToLower(path)
	scopes := []string{lower}
	for i := len(lower) - 1; i > 0; i-- {
		if lower[i] == '/' {
			scopes = append(scopes, lower[:i])
		}
	}
	scopes = append(scopes, "")
	ctx, cancel := context.WithTimeout(c.ctx, opTimeout)
	defer cancel()
	var lastErr error
	for _, sc := range scopes {
		c.mu.Lock()
		tok, found := c.tokens[sc]
		c.mu.Unlock()
		if !found || (!tok.expires.IsZero() && time.Now().After(tok.expires)) {
			continue
		}
		if _, err := c.s.cfg.Auth.AuthorizeToken(ctx, tok.token, path, string(need)); err != nil {
			lastErr = err
			continue
		}
		return &sc, nil
	}
	if c.plainToken != "" {
		if _, err := c.s.cfg.Auth.AuthorizeToken(ctx, c.plainToken, path, string(need)); err == nil {
			return nil, nil
		} else {
			lastErr = err
		}
	}
	if lastErr != nil {
		return nil, errorf(condUnauthorized, "%v", lastErr)
	}
	return nil, errorf(condUnauthorized, "no token authorizes '%s': put one on $cbs first", path)
}

// signSAS signs a namespace token for SASL PLAIN credentials.
func signSAS(uri, keyName, key string, expiry time.Time) string {
	if uri == "" {
		uri = "sb://junction/"
	}
	return httpapi.Sign(uri, keyName, key, expiry)
}
