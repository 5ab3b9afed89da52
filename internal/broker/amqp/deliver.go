package amqp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"junction/internal/broker"
	"junction/internal/store"
)

// longPoll is how long one broker receive waits for messages while the peer
// has credit.
const longPoll = 30 * time.Second

// opTimeout bounds one broker call made for the peer.
const opTimeout = 60 * time.Second

func (l *link) startPump() {
	l.settleQ = make(chan []settleReq, 256)
	l.s.c.spawn(l.settleWorker)
	l.s.c.spawn(l.pump)
}

// pump hands messages to a receiving peer while it has credit.
func (l *link) pump() {
	b := l.s.c.s.cfg.Broker
	mode := broker.PeekLock
	if l.settled {
		mode = broker.ReceiveAndDelete
	}
	for {
		l.mu.Lock()
		credit, drain := l.peerCredit, l.drain
		l.mu.Unlock()
		if credit == 0 {
			if drain {
				l.finishDrain()
				continue
			}
			select {
			case <-l.ctx.Done():
				return
			case <-l.wake:
			}
			continue
		}
		wait := longPoll
		if drain {
			wait = 0
		}
		pctx, pcancel := context.WithCancel(l.ctx)
		l.mu.Lock()
		l.pollCancel = pcancel
		bs := l.bsession
		l.mu.Unlock()
		msgs, err := b.Receive(pctx, l.path, broker.ReceiveOptions{Mode: mode, Max: int(min(credit, 256)), Wait: wait, Session: bs})
		pcancel()
		l.mu.Lock()
		l.pollCancel = nil
		l.mu.Unlock()
		if l.ctx.Err() != nil {
			l.giveBack(msgs)
			return
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				continue // a drain interrupted the long poll
			}
			switch broker.KindOf(err) {
			case broker.KindSessionLockLost, broker.KindEntityNotFound, broker.KindBadRequest:
				l.s.detachLink(l, brokerError(err))
				return
			}
			l.s.c.s.log.Warn("amqp receive failed", "entity", l.path, "err", err)
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		for i := range msgs {
			if !l.deliver(&msgs[i]) {
				l.giveBack(msgs[i:])
				return
			}
		}
		if drain && len(msgs) < int(credit) {
			l.finishDrain()
		}
	}
}

// deliver sends one message, taking one credit. It returns false when the
// peer took its credit back or the link ended.
func (l *link) deliver(m *broker.Received) bool {
	payload, err := encodeReceived(m, false)
	if err != nil {
		l.s.c.s.log.Error("amqp: encode message", "entity", l.path, "seq", m.SequenceNumber, "err", err)
		return false
	}
	l.mu.Lock()
	if l.peerCredit == 0 {
		l.mu.Unlock()
		return false
	}
	l.peerCredit--
	l.deliveryCount++
	l.mu.Unlock()
	var tag []byte
	var track *delivery
	if m.LockToken != "" {
		tag = lockTokenTag(m.LockToken)
		track = &delivery{l: l, lockToken: m.LockToken}
	} else {
		tag = binary.BigEndian.AppendUint64(nil, uint64(m.SequenceNumber))
	}
	return l.s.send(l.ctx, l, tag, payload, l.settled, track)
}

// giveBack releases messages that were claimed for the peer but never sent
// (the link closed, or the peer took its credit back): they can be received
// at once and their delivery is not counted. Messages received in
// receive-and-delete mode are gone already.
func (l *link) giveBack(msgs []broker.Received) {
	var tokens []string
	for _, m := range msgs {
		if m.LockToken != "" {
			tokens = append(tokens, m.LockToken)
		}
	}
	if len(tokens) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := l.s.c.s.cfg.Broker.Release(ctx, l.path, tokens...); err != nil {
		l.s.c.s.log.Warn("amqp: release undelivered messages", "entity", l.path, "err", err)
	}
}

// finishDrain uses up the remaining credit and tells the peer (drain).
func (l *link) finishDrain() {
	l.mu.Lock()
	l.deliveryCount += l.peerCredit
	l.peerCredit = 0
	l.drain = false
	l.mu.Unlock()
	l.sendLinkFlow(true)
}

// settle queues the peer's outcomes for the settle worker (reader goroutine).
func (l *link) settle(reqs []settleReq) {
	select {
	case l.settleQ <- reqs:
	case <-l.ctx.Done():
		l.s.c.spawn(func() { l.applySettlements(reqs) })
	}
}

// settleWorker applies queued outcomes, many in one transaction.
func (l *link) settleWorker() {
	for {
		var reqs []settleReq
		select {
		case <-l.ctx.Done():
			// Outcomes that arrived with the detach are still applied.
			for {
				select {
				case r := <-l.settleQ:
					l.applySettlements(r)
				default:
					return
				}
			}
		case r := <-l.settleQ:
			reqs = append(reqs, r...)
		}
	more:
		for len(reqs) < 512 {
			select {
			case r := <-l.settleQ:
				reqs = append(reqs, r...)
			default:
				break more
			}
		}
		l.applySettlements(reqs)
	}
}

// settleItem maps a delivery state to a broker settlement; ok is false for
// states that settle nothing (received).
func settleItem(lockToken string, st *outcome) (broker.SettleItem, bool) {
	it := broker.SettleItem{Op: broker.SettleComplete, Settlement: broker.Settlement{LockToken: lockToken}}
	if st == nil {
		return it, true
	}
	switch st.code {
	case descAccepted:
	case descReleased:
		it.Op = broker.SettleAbandon
	case descModified:
		it.Op = broker.SettleAbandon
		if st.undeliverableHere {
			it.Op = broker.SettleDefer
		}
		it.Properties = propertiesToModify(st.annotations)
	case descRejected:
		it.Op = broker.SettleDeadLetter
		if st.err != nil {
			var rest Map
			for _, p := range st.err.Info {
				k, _ := p.Key.(string)
				if sk, ok := p.Key.(Symbol); ok {
					k = string(sk)
				}
				switch k {
				case "DeadLetterReason":
					it.Reason, _ = p.Value.(string)
				case "DeadLetterErrorDescription":
					it.Description, _ = p.Value.(string)
				default:
					rest = append(rest, p)
				}
			}
			it.Properties = propertiesToModify(rest)
		}
	default:
		return it, false
	}
	return it, true
}

// propertiesToModify turns annotations or a map of properties into broker
// application properties; values of other types are skipped.
func propertiesToModify(m Map) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := map[string]any{}
	for _, p := range m {
		var k string
		switch x := p.Key.(type) {
		case string:
			k = x
		case Symbol:
			k = string(x)
		default:
			continue
		}
		if v, err := propertyValue(p.Value); err == nil {
			out[k] = v
		}
	}
	return out
}

func (l *link) applySettlements(reqs []settleReq) {
	items := make([]broker.SettleItem, 0, len(reqs))
	idx := make([]int, 0, len(reqs))
	for i, r := range reqs {
		if it, ok := settleItem(r.lockToken, r.state); ok {
			items = append(items, it)
			idx = append(idx, i)
		}
	}
	errs := make([]error, len(reqs))
	if len(items) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		results, err := l.s.c.s.cfg.Broker.SettleBatch(ctx, l.path, items)
		cancel()
		for j, i := range idx {
			if err != nil {
				errs[i] = err
			} else {
				errs[i] = results[j].Err
			}
		}
	}
	for i, r := range reqs {
		if !r.reply {
			continue
		}
		if errs[i] != nil {
			l.s.writeDisposition(false, r.id, &outcome{code: descRejected, err: brokerError(errs[i])})
			continue
		}
		st := r.state
		switch {
		case st == nil:
			st = &outcome{code: descAccepted}
		case st.code == descRejected:
			// A dead-lettered message is confirmed as rejected without an
			// error: an error would tell the peer the settlement failed.
			st = &outcome{code: descRejected}
		}
		l.s.writeDisposition(false, r.id, st)
	}
}

// sendToEntity sends the peer's messages to the entity: all in one
// transaction when it can, else one by one so each delivery gets its own
// outcome.
func (l *link) sendToEntity(batch []inDelivery) {
	b := l.s.c.s.cfg.Broker
	msgs := make([][]broker.Message, len(batch))
	errs := make([]*amqpError, len(batch))
	var all []broker.Message
	for i, d := range batch {
		msgs[i], errs[i] = decodeDelivery(d)
		for j := range msgs[i] {
			// Service Bus gives a message without a message-id one; the
			// SDKs key lock renewal by it.
			if msgs[i][j].MessageID == "" {
				msgs[i][j].MessageID = newMessageID()
			}
		}
		all = append(all, msgs[i]...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var err error
	if len(all) > 0 {
		_, err = b.Send(ctx, l.path, all...)
	}
	if err != nil {
		// The deliveries are sent one by one only when the send was
		// refused, which stored none of them (a broker error, or a
		// statement the database refused): after any other failure the
		// send may have committed, and again would store them twice.
		alone := broker.KindOf(err) != 0 || store.IsRefused(err)
		for i := range batch {
			if errs[i] != nil || len(msgs[i]) == 0 {
				continue
			}
			if len(batch) == 1 || !alone {
				errs[i] = brokerError(err)
				continue
			}
			if _, err := b.Send(ctx, l.path, msgs[i]...); err != nil {
				errs[i] = brokerError(err)
			}
		}
	}
	for i, d := range batch {
		l.accept(d, errs[i])
	}
}

// decodeDelivery reads a delivery's message, or the messages of a batch
// (message format 0x80013700: each data section is an encoded message).
func decodeDelivery(d inDelivery) ([]broker.Message, *amqpError) {
	m, err := decodeMessage(d.payload)
	if err != nil {
		return nil, errorf(condDecode, "%v", err)
	}
	if d.format != batchFormat {
		bm, err := m.toBroker()
		if err != nil {
			return nil, errorf(condDecode, "%v", err)
		}
		return []broker.Message{bm}, nil
	}
	out := make([]broker.Message, 0, len(m.data))
	for i, raw := range m.data {
		inner, err := decodeMessage(raw)
		if err != nil {
			return nil, errorf(condDecode, "batch message %d: %v", i, err)
		}
		bm, err := inner.toBroker()
		if err != nil {
			return nil, errorf(condDecode, "batch message %d: %v", i, err)
		}
		out = append(out, bm)
	}
	return out, nil
}

// brokerError maps a broker error to the AMQP condition the SDKs expect.
func brokerError(err error) *amqpError {
	var ae *amqpError
	if errors.As(err, &ae) {
		return ae
	}
	msg := err.Error()
	var be *broker.Error
	if errors.As(err, &be) {
		msg = be.Message
	}
	switch broker.KindOf(err) {
	case broker.KindBadRequest, broker.KindConflict:
		return errorf(condNotAllowed, "%s", msg)
	case broker.KindEntityNotFound, broker.KindMessageNotFound:
		return errorf(condNotFound, "%s", msg)
	case broker.KindLockLost:
		return errorf(condLockLost, "%s", msg)
	case broker.KindTooLarge:
		return errorf(condMessageSize, "%s", msg)
	case broker.KindQuotaExceeded:
		return errorf(condResourceLimit, "%s", msg)
	case broker.KindSessionCannotBeLocked:
		return errorf(condSessionLocked, "%s", msg)
	case broker.KindSessionLockLost:
		return errorf(condSessionLockLost, "%s", msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errorf(condTimeout, "%s", msg)
	}
	return errorf(condInternal, "%s", fmt.Sprint(msg))
}

// newMessageID is a random message id in the form Service Bus assigns.
func newMessageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
