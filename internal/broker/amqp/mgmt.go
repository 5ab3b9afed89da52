package amqp

import (
	"context"
	"net/http"
	"strings"
	"time"

	"junction/internal/broker"
)

// manage answers a request to <entity>/$management.
func (l *link) manage(op string, m *message) rpcResponse {
	args, _ := m.value.(Map)
	op = strings.TrimPrefix(op, "com.microsoft:")
	need := RightListen
	switch op {
	case "schedule-message", "cancel-scheduled-message":
		need = RightSend
	case "add-rule", "remove-rule", "enumerate-rules":
		need = RightManage
	}
	if _, err := l.s.c.authorize(l.path, need); err != nil {
		return failed(http.StatusUnauthorized, condUnauthorized, err.Description)
	}
	ctx, cancel := context.WithTimeout(l.s.c.ctx, opTimeout)
	defer cancel()
	b := l.s.c.s.cfg.Broker
	switch op {
	case "renew-lock":
		return l.renewLocks(ctx, args)
	case "peek-message":
		return l.peek(ctx, args)
	case "schedule-message":
		return l.schedule(ctx, args)
	case "cancel-scheduled-message":
		if err := b.CancelScheduled(ctx, l.path, int64s(get(args, "sequence-numbers"))...); err != nil {
			return rpcFailure(err)
		}
		return ok(nil)
	case "receive-by-sequence-number":
		return l.receiveDeferred(ctx, args)
	case "update-disposition":
		return l.updateDisposition(ctx, args)
	case "renew-session-lock", "get-session-state", "set-session-state":
		return l.sessionOp(ctx, op, args)
	case "get-message-sessions":
		return l.messageSessions(ctx, args)
	case "add-rule":
		return l.addRule(ctx, args)
	case "remove-rule":
		return l.removeRule(ctx, args)
	case "enumerate-rules":
		return l.enumerateRules(ctx, args)
	}
	return failed(http.StatusNotImplemented, condNotImplemented, "the operation '"+op+"' is not supported")
}

func get(m Map, key string) any {
	v, _ := m.Get(key)
	return v
}

func getString(m Map, key string) string {
	switch x := get(m, key).(type) {
	case string:
		return x
	case Symbol:
		return string(x)
	}
	return ""
}

// int64s reads an array or list of integers.
func int64s(v any) []int64 {
	switch x := v.(type) {
	case []int64:
		return x
	case []any:
		out := make([]int64, 0, len(x))
		for _, e := range x {
			if n, ok := toInt64(e); ok {
				out = append(out, n)
			}
		}
		return out
	case Array:
		return int64s(x.Items)
	}
	if n, ok := toInt64(v); ok {
		return []int64{n}
	}
	return nil
}

// lockTokens reads an array or list of lock tokens (uuids or strings).
func lockTokens(v any) []string {
	var items []any
	switch x := v.(type) {
	case []UUID:
		out := make([]string, len(x))
		for i, u := range x {
			out[i] = u.String()
		}
		return out
	case []string:
		return x
	case []any:
		items = x
	case Array:
		items = x.Items
	}
	out := make([]string, 0, len(items))
	for _, e := range items {
		switch t := e.(type) {
		case UUID:
			out = append(out, t.String())
		case string:
			out = append(out, t)
		}
	}
	return out
}

func (l *link) renewLocks(ctx context.Context, args Map) rpcResponse {
	tokens := lockTokens(get(args, "lock-tokens"))
	items := make([]broker.SettleItem, len(tokens))
	for i, t := range tokens {
		items[i] = broker.SettleItem{Op: broker.SettleRenew, Settlement: broker.Settlement{LockToken: t}}
	}
	results, err := l.s.c.s.cfg.Broker.SettleBatch(ctx, l.path, items)
	if err != nil {
		return rpcFailure(err)
	}
	out := make([]time.Time, len(results))
	for i, r := range results {
		if r.Err != nil {
			return rpcFailure(r.Err)
		}
		out[i] = r.LockedUntil
	}
	return ok(Map{{"expirations", out}})
}

// messagesResponse answers with messages, or 204 when there are none.
func messagesResponse(msgs []broker.Received) rpcResponse {
	if len(msgs) == 0 {
		return rpcResponse{status: http.StatusNoContent, desc: "No messages"}
	}
	v, err := messageList(msgs)
	if err != nil {
		return rpcFailure(err)
	}
	return ok(v)
}

// messageList encodes messages as the management node returns them: a list
// of maps with the encoded message (and its lock token when locked).
func messageList(msgs []broker.Received) (any, error) {
	list := make([]any, 0, len(msgs))
	for i := range msgs {
		enc, err := encodeReceived(&msgs[i], true)
		if err != nil {
			return nil, err
		}
		entry := Map{{"message", enc}}
		if u, ok := ParseUUID(msgs[i].LockToken); ok {
			entry = append(entry, Pair{"lock-token", u})
		}
		list = append(list, entry)
	}
	return Map{{"messages", list}}, nil
}

func (l *link) peek(ctx context.Context, args Map) rpcResponse {
	from, _ := toInt64(get(args, "from-sequence-number"))
	count, _ := toInt64(get(args, "message-count"))
	if count <= 0 {
		count = 1
	}
	session := getString(args, "session-id")
	msgs, err := l.s.c.s.cfg.Broker.Peek(ctx, l.path, from, int(min(count, 1000)))
	if err != nil {
		return rpcFailure(err)
	}
	if session != "" {
		kept := msgs[:0]
		for _, m := range msgs {
			if m.SessionID == session {
				kept = append(kept, m)
			}
		}
		msgs = kept
	}
	return messagesResponse(msgs)
}

func (l *link) schedule(ctx context.Context, args Map) rpcResponse {
	raw, _ := get(args, "messages").([]any)
	if len(raw) == 0 {
		return failed(http.StatusBadRequest, condDecode, "messages are required")
	}
	msgs := make([]broker.Message, 0, len(raw))
	for _, e := range raw {
		entry, _ := e.(Map)
		enc, _ := get(entry, "message").([]byte)
		m, err := decodeMessage(enc)
		if err != nil {
			return failed(http.StatusBadRequest, condDecode, err.Error())
		}
		bm, err := m.toBroker()
		if err != nil {
			return failed(http.StatusBadRequest, condDecode, err.Error())
		}
		msgs = append(msgs, bm)
	}
	seqs, err := l.s.c.s.cfg.Broker.Send(ctx, l.path, msgs...)
	if err != nil {
		return rpcFailure(err)
	}
	return ok(Map{{"sequence-numbers", seqs}})
}

func (l *link) receiveDeferred(ctx context.Context, args Map) rpcResponse {
	mode := broker.PeekLock
	if n, ok := toInt64(get(args, "receiver-settle-mode")); ok && n == 0 {
		mode = broker.ReceiveAndDelete
	}
	msgs, err := l.s.c.s.cfg.Broker.ReceiveDeferred(ctx, l.path, mode, int64s(get(args, "sequence-numbers"))...)
	if err != nil {
		return rpcFailure(err)
	}
	return messagesResponse(msgs)
}

func (l *link) updateDisposition(ctx context.Context, args Map) rpcResponse {
	var op broker.SettleOp
	switch getString(args, "disposition-status") {
	case "completed":
		op = broker.SettleComplete
	case "abandoned":
		op = broker.SettleAbandon
	case "suspended":
		op = broker.SettleDeadLetter
	case "defered", "deferred":
		op = broker.SettleDefer
	default:
		return failed(http.StatusBadRequest, condInvalidField, "disposition-status must be completed, abandoned, suspended or defered")
	}
	props, _ := get(args, "properties-to-modify").(Map)
	tokens := lockTokens(get(args, "lock-tokens"))
	items := make([]broker.SettleItem, len(tokens))
	for i, t := range tokens {
		items[i] = broker.SettleItem{Op: op, Settlement: broker.Settlement{LockToken: t, Properties: propertiesToModify(props),
			Reason: getString(args, "deadletter-reason"), Description: getString(args, "deadletter-description")}}
	}
	results, err := l.s.c.s.cfg.Broker.SettleBatch(ctx, l.path, items)
	if err != nil {
		return rpcFailure(err)
	}
	for _, r := range results {
		if r.Err != nil {
			return rpcFailure(r.Err)
		}
	}
	return ok(nil)
}

// heldSession finds the session lock this connection holds for id on the
// link's entity.
func (l *link) heldSession(id string) *broker.Session {
	for _, s := range l.s.c.sessionList() {
		s.mu.Lock()
		for _, ol := range s.links {
			ol.mu.Lock()
			bs := ol.bsession
			ol.mu.Unlock()
			if bs != nil && bs.ID == id && strings.EqualFold(ol.path, l.path) {
				s.mu.Unlock()
				return bs
			}
		}
		s.mu.Unlock()
	}
	return nil
}

func (l *link) sessionOp(ctx context.Context, op string, args Map) rpcResponse {
	id := getString(args, "session-id")
	bs := l.heldSession(id)
	if bs == nil {
		return failed(http.StatusGone, condSessionLockLost, "this connection holds no lock on the session '"+id+"'")
	}
	b := l.s.c.s.cfg.Broker
	switch op {
	case "renew-session-lock":
		if err := b.RenewSessionLock(ctx, bs); err != nil {
			return rpcFailure(err)
		}
		return ok(Map{{"expiration", bs.LockedUntil}})
	case "get-session-state":
		state, err := b.SessionState(ctx, bs)
		if err != nil {
			return rpcFailure(err)
		}
		var v any
		if state != nil {
			v = state
		}
		return ok(Map{{"session-state", v}})
	default:
		var state []byte
		switch x := get(args, "session-state").(type) {
		case []byte:
			state = x
		case string:
			state = []byte(x)
		}
		if err := b.SetSessionState(ctx, bs, state); err != nil {
			return rpcFailure(err)
		}
		return ok(nil)
	}
}

func (l *link) messageSessions(ctx context.Context, args Map) rpcResponse {
	skip, _ := toInt64(get(args, "skip"))
	top, _ := toInt64(get(args, "top"))
	ids, err := l.s.c.s.cfg.Broker.MessageSessions(ctx, l.path, int(skip), int(top))
	if err != nil {
		return rpcFailure(err)
	}
	if len(ids) == 0 {
		return rpcResponse{status: http.StatusNoContent, desc: "No sessions"}
	}
	return ok(Map{{"skip", int32(skip)}, {"sessions-ids", ids}})
}

// Descriptors of rule descriptions in enumerate-rules answers.
const (
	descRuleDescription   = 0x13700000004
	descEmptyRuleAction   = 0x13700000005
	descSQLRuleAction     = 0x13700000006
	descSQLFilter         = 0x1370000006
	descTrueFilter        = 0x1370000007
	descFalseFilter       = 0x1370000008
	descCorrelationFilter = 0x1370000009
)

// subscription splits a subscription path into its topic and name.
func subscription(path string) (string, string, bool) {
	i := strings.Index(strings.ToLower(path), "/subscriptions/")
	if i < 0 {
		return "", "", false
	}
	return path[:i], path[i+len("/subscriptions/"):], true
}

func (l *link) addRule(ctx context.Context, args Map) rpcResponse {
	topic, sub, isSub := subscription(l.path)
	if !isSub {
		return failed(http.StatusBadRequest, condNotAllowed, "rules belong to subscriptions")
	}
	name := getString(args, "rule-name")
	desc, _ := get(args, "rule-description").(Map)
	r := broker.Rule{Name: name}
	if f, ok := get(desc, "sql-filter").(Map); ok {
		r.Filter = broker.Filter{Type: broker.FilterSQL, SQL: getString(f, "expression")}
	} else if f, ok := get(desc, "correlation-filter").(Map); ok {
		cf := &broker.CorrelationFilter{CorrelationID: getString(f, "correlation-id"), MessageID: getString(f, "message-id"),
			To: getString(f, "to"), ReplyTo: getString(f, "reply-to"), Label: getString(f, "label"), SessionID: getString(f, "session-id"),
			ReplyToSessionID: getString(f, "reply-to-session-id"), ContentType: getString(f, "content-type")}
		if props, ok := get(f, "properties").(Map); ok {
			cf.Properties = propertiesToModify(props)
		}
		r.Filter = broker.Filter{Type: broker.FilterCorrelation, Correlation: cf}
	} else {
		return failed(http.StatusBadRequest, condInvalidField, "rule-description needs a sql-filter or a correlation-filter")
	}
	if a, ok := get(desc, "sql-rule-action").(Map); ok {
		r.Action = getString(a, "expression")
	}
	b := l.s.c.s.cfg.Broker
	if _, err := b.Rule(ctx, topic, sub, name); err == nil {
		return failed(http.StatusConflict, "com.microsoft:entity-already-exists", "the rule '"+name+"' already exists")
	}
	if _, _, err := b.PutRule(ctx, topic, sub, r); err != nil {
		return rpcFailure(err)
	}
	return ok(nil)
}

func (l *link) removeRule(ctx context.Context, args Map) rpcResponse {
	topic, sub, isSub := subscription(l.path)
	if !isSub {
		return failed(http.StatusBadRequest, condNotAllowed, "rules belong to subscriptions")
	}
	if err := l.s.c.s.cfg.Broker.DeleteRule(ctx, topic, sub, getString(args, "rule-name")); err != nil {
		return rpcFailure(err)
	}
	return ok(nil)
}

func (l *link) enumerateRules(ctx context.Context, args Map) rpcResponse {
	topic, sub, isSub := subscription(l.path)
	if !isSub {
		return failed(http.StatusBadRequest, condNotAllowed, "rules belong to subscriptions")
	}
	rules, err := l.s.c.s.cfg.Broker.Rules(ctx, topic, sub)
	if err != nil {
		return rpcFailure(err)
	}
	skip, _ := toInt64(get(args, "skip"))
	top, _ := toInt64(get(args, "top"))
	if skip > 0 {
		rules = rules[min(int(skip), len(rules)):]
	}
	if top > 0 && int(top) < len(rules) {
		rules = rules[:top]
	}
	if len(rules) == 0 {
		return rpcResponse{status: http.StatusNoContent, desc: "No rules"}
	}
	list := make([]any, 0, len(rules))
	for _, r := range rules {
		list = append(list, Map{{"rule-description", ruleDescription(r)}})
	}
	return ok(Map{{"rules", list}})
}

func ruleDescription(r broker.Rule) any {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var filter any
	switch r.Filter.Type {
	case broker.FilterTrue:
		filter = Described{uint64(descTrueFilter), []any{"1=1"}}
	case broker.FilterFalse:
		filter = Described{uint64(descFalseFilter), []any{"1=0"}}
	case broker.FilterCorrelation:
		c := r.Filter.Correlation
		if c == nil {
			c = &broker.CorrelationFilter{}
		}
		var props any
		if len(c.Properties) > 0 {
			m := make(Map, 0, len(c.Properties))
			for k, v := range c.Properties {
				m = append(m, Pair{k, v})
			}
			props = m
		}
		filter = Described{uint64(descCorrelationFilter), []any{str(c.CorrelationID), str(c.MessageID), str(c.To), str(c.ReplyTo),
			str(c.Label), str(c.SessionID), str(c.ReplyToSessionID), str(c.ContentType), props}}
	default:
		filter = Described{uint64(descSQLFilter), []any{r.Filter.SQL}}
	}
	action := Described{uint64(descEmptyRuleAction), []any{}}
	if r.Action != "" {
		action = Described{uint64(descSQLRuleAction), []any{r.Action}}
	}
	return Described{uint64(descRuleDescription), []any{filter, action, r.Name}}
}
