package workflow

import (
	"context"
	"errors"
	"fmt"

	"junction/internal/connector"
	"junction/internal/store"
)

// joined is an action's effect that commits in the transaction recording
// the action (connector.Join): a message sent to Junction's own broker,
// when the broker keeps its messages in the run's store. The record is
// written only with it, so the run history never shows the action
// Succeeded without its effect, nor the effect without the record; after a
// crash before the commit, the action runs again on resume and the effect
// happens once.
type joined struct {
	rec   *ActionRecord // the record as the action left it: its body is a placeholder
	write func(ctx context.Context, tx store.Tx) (any, error)
	done  *ActionRecord // the record written, with the effect's result as its body
	held  bool          // the action's status was reported Succeeded before the commit
}

// effectError is a joined effect's failure inside the transaction; the
// transaction is rolled back.
type effectError struct {
	j   *joined
	err error
}

func (e *effectError) Error() string { return e.err.Error() }
func (e *effectError) Unwrap() error { return e.err }

// applyJoined runs the effects in tx and returns recs with each effect's
// record replaced by the record to write (its body the effect's result).
func applyJoined(ctx context.Context, tx store.Tx, recs []*ActionRecord, effects []*joined) ([]*ActionRecord, error) {
	if len(effects) == 0 {
		return recs, nil
	}
	out := append([]*ActionRecord(nil), recs...)
	for _, j := range effects {
		body, err := j.write(ctx, tx)
		if err != nil {
			return nil, &effectError{j, err}
		}
		done := *j.rec
		outputs := map[string]any{}
		if m, ok := j.rec.Outputs.(map[string]any); ok {
			for k, v := range m {
				outputs[k] = v
			}
		}
		outputs["body"] = body
		done.Outputs = outputs
		j.done = &done
		for i, r := range out {
			if r == j.rec {
				out[i] = &done
			}
		}
	}
	return out, nil
}

// joinable reports whether the action c runs may join its effect to the
// transaction recording it: the run is kept in a store, and nothing reads
// the action's outputs before that commit (tracked properties are
// evaluated before the record is saved; a paged read is not an effect).
func (c *call) joinable() bool {
	_, durable := c.rs.j.(storeJournal)
	return durable && c.rs.mocks == nil && len(c.a.TrackedProperties) == 0 && paginationMinimum(c.a) == 0 && c.rs.holdsJoin(c.rec)
}

// holdsJoin reports whether rec's action may join its effect to the run's
// next write: it is one of the run's top-level actions, nothing else of the
// run is in progress (so no other write can take the effect while the
// action's goroutine still counts on it, and no action starts before that
// write), and the run has no outputs to evaluate at its end. Other actions
// send on their own, with their retry policy.
func (rs *runState) holdsJoin(rec *ActionRecord) bool {
	_, top := rs.l.Def.Actions[rec.Name]
	return top && rec.Path == rec.Name && rs.inflight.Load() == 1 && len(rs.l.Def.Outputs) == 0
}

// offerJoin returns ctx offering a connector operation to join its write
// to the record's transaction, and the Join it will hand the write to.
func (c *call) offerJoin(ctx context.Context) (context.Context, *connector.Join) {
	if !c.joinable() {
		return ctx, nil
	}
	j := &connector.Join{Store: c.rs.j.(storeJournal).s}
	return connector.WithJoin(ctx, j), j
}

// saveJoined saves rec, an action's Succeeded record, with the effect that
// must commit with it, and returns the action's final status: Failed when
// the effect failed in the transaction.
//
// When the action is one of the run's top-level actions and nothing else of
// the run is in progress, the record and its effect are held like a
// replayable record: they commit with the run's next write, which comes
// before the next action starts (runSet) or is the run's end. A run whose
// last action sends a message thus commits the send, the records and its
// end at once. Otherwise they commit now.
func (rs *runState) saveJoined(rec *ActionRecord, write func(context.Context, store.Tx) (any, error)) (string, error) {
	if rs.e.isKilled() {
		return "", errLeaseLost
	}
	hold := rs.holdsJoin(rec)
	j := &joined{rec: rec, write: write, held: hold}
	rs.heldMu.Lock()
	rs.held = append(rs.held, rec)
	rs.effects = append(rs.effects, j)
	rs.heldMu.Unlock()
	rs.mu.Lock()
	rs.records[rec.Path] = rec
	rs.mu.Unlock()
	if !hold {
		if err := rs.write(nil, false); err != nil {
			return "", err
		}
	}
	got, _ := rs.record(rec.Path)
	return got.Status, nil
}

// joinsHeld reports whether a held record waits for its effect's commit.
func (rs *runState) joinsHeld() bool {
	rs.heldMu.Lock()
	defer rs.heldMu.Unlock()
	return len(rs.effects) > 0
}

// commitHeld commits the held write h with commit; when an effect fails in
// the transaction, its action is recorded Failed with the error, and the
// rest commits without it. Once committed, the records written replace
// those the actions left.
func (rs *runState) commitHeld(h *heldWrite, commit func(recs []*ActionRecord, effects []*joined) error) error {
	for {
		err := commit(h.recs, h.effects)
		var ee *effectError
		if errors.As(err, &ee) && !permanent(ee.err) {
			// A failure that may pass (the store's, a full queue) fails
			// the write, not the action: the effect stays held for the
			// next write, or runs again when the run resumes.
			return ee.err
		}
		if !errors.As(err, &ee) {
			if err == nil && len(h.effects) > 0 {
				rs.mu.Lock()
				for _, j := range h.effects {
					rs.records[j.rec.Path] = j.done
				}
				rs.mu.Unlock()
			}
			return err
		}
		rs.joinFailed(h, ee)
	}
}

// permanent reports whether an effect's failure is the request's own (a 4xx
// that is not worth retrying: a queue deleted meanwhile, a message the
// entity refuses), which fails its action.
func permanent(err error) bool {
	var ce *connector.Error
	return errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && !ce.Retryable
}

// joinFailed records the action whose effect failed as Failed, in h and
// in the run's records, and takes its effect out of h. A held action's
// failure is also noted for the run (takeJoinFailures): its status was
// already reported Succeeded.
func (rs *runState) joinFailed(h *heldWrite, ee *effectError) {
	failed := *ee.j.rec
	failed.Status, failed.Code = StatusFailed, "ServiceProviderActionFailed"
	failed.Outputs = nil
	var ce *connector.Error
	if errors.As(ee.err, &ce) && ce.Status > 0 {
		failed.Code = httpCode(ce.Status)
		failed.Outputs = map[string]any{"statusCode": int64(ce.Status)}
	}
	failed.Error = map[string]any{"code": failed.Code, "message": fmt.Sprint(ee.err)}
	recs := make([]*ActionRecord, len(h.recs))
	for i, r := range h.recs {
		recs[i] = r
		if r == ee.j.rec {
			recs[i] = &failed
		}
	}
	h.recs = recs
	var effects []*joined
	for _, j := range h.effects {
		if j != ee.j {
			effects = append(effects, j)
		}
	}
	h.effects = effects
	rs.mu.Lock()
	rs.records[failed.Path] = &failed
	if ee.j.held {
		rs.joinFailures = append(rs.joinFailures, failed.Name)
	}
	rs.mu.Unlock()
}

// takeJoinFailures returns the names of the actions recorded Failed by
// joinFailed since the last call.
func (rs *runState) takeJoinFailures() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	names := rs.joinFailures
	rs.joinFailures = nil
	return names
}
