package steps

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
)

// System Job states and statuses (the asyncoperation table reference).
const (
	opSystemEvent = 1

	stateReady     = 0
	stateSuspended = 1
	stateLocked    = 2
	stateCompleted = 3

	statusWaitingForResources = 0
	statusWaiting             = 10
	statusInProgress          = 20
	statusSucceeded           = 30
	statusFailed              = 31
)

const jobLease = 2 * time.Minute

// jobData is a step job's data column: what to post and where.
type jobData struct {
	Step    string          `json:"step"`
	Context json.RawMessage `json:"context"`
}

// enqueue records st's post of change c as a System Job in tx, so that the
// post is made (and retried) once the write commits, and is not lost.
func (s *Service) enqueue(ctx context.Context, tx store.Tx, t *records.Table, c changelog.Change, st step) error {
	jobs, ok := s.rec.Table("asyncoperation")
	if !ok {
		return errors.New("the asyncoperation table is missing")
	}
	id := records.NewOrderedID()
	rc, err := s.contextFor(t, c, st, id)
	if err != nil {
		return err
	}
	ctxJSON, err := json.Marshal(rc)
	if err != nil {
		return err
	}
	data, err := json.Marshal(jobData{Step: st.ID, Context: ctxJSON})
	if err != nil {
		return err
	}
	row := records.Row{"asyncoperationid": id, "name": st.Name, "operationtype": int64(opSystemEvent), "data": string(data),
		"messagename": c.Message, "primaryentitytype": c.Table, "correlationid": rc.CorrelationID, "depth": int64(1),
		"retrycount": int64(0), "statecode": int64(stateReady), "statuscode": int64(statusWaitingForResources)}
	if _, err := s.rec.Create(ctx, tx, jobs, row, records.Caller{UserID: c.UserID, CorrelationID: c.CorrelationID}); err != nil {
		return fmt.Errorf("record the asynchronous step %s: %w", st.Name, err)
	}
	tx.AfterCommit(s.jobs.Wake)
	return nil
}

// Start runs the job worker until Stop; starting twice is a no-op.
func (s *Service) Start(ctx context.Context) error { return s.jobs.Start(ctx) }

// Stop ends the worker, waiting for the post under way; safe without Start.
// A job cut short is posted again on the next start (its lease expires).
func (s *Service) Stop(ctx context.Context) error { return s.jobs.Stop(ctx) }

// runDue posts the due step jobs (new, waiting past their postponeuntil,
// or in progress on a node whose lease lapsed); it reports whether it ran
// any.
func (s *Service) runDue(ctx context.Context) (bool, error) {
	jobs, ok := s.rec.Table("asyncoperation")
	if !ok {
		return false, nil
	}
	var ids []string
	err := s.rec.Store().Read(ctx, func(q store.Querier) error {
		rows, err := q.Query(ctx, `SELECT asyncoperationid FROM `+records.Quote(jobs.SQLName())+
			` WHERE operationtype = ? AND (statecode = ? OR statecode = ? AND statuscode = ? AND (postponeuntil IS NULL OR postponeuntil <= ?) OR statecode = ?)
			ORDER BY createdon, asyncoperationid LIMIT 50`,
			opSystemEvent, stateReady, stateSuspended, statusWaiting, records.SQLValue(s.rec.Now().UTC()), stateLocked)
		if err != nil {
			return err
		}
		ids, err = store.CollectRows(rows, func(r *sql.Rows) (id string, err error) { return id, r.Scan(&id) })
		return err
	})
	if err != nil {
		return false, err
	}
	leases := s.rec.Store().Leases()
	ran := false
	for _, id := range ids {
		lease, err := leases.Acquire(ctx, "steps:"+id, s.owner, jobLease)
		if errors.Is(err, store.ErrLeaseHeld) {
			continue
		}
		if err != nil {
			return ran, err
		}
		err = s.runJob(ctx, jobs, id)
		if rerr := leases.Release(context.WithoutCancel(ctx), lease); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			return ran, err
		}
		ran = true
	}
	return ran, nil
}

// runJob marks job id in progress, posts it, and records the outcome:
// Succeeded (or the row deleted, when its step says asyncautodelete),
// Waiting for a retry, or Failed once the retries are spent.
func (s *Service) runJob(ctx context.Context, jobs *records.Table, id string) error {
	var job records.Row
	err := s.rec.Store().Tx(ctx, func(tx store.Tx) error {
		row, err := s.rec.Get(ctx, tx, jobs, id)
		if err != nil {
			return err
		}
		switch num(row, "statecode") {
		case stateReady, stateSuspended, stateLocked:
		default:
			return nil // finished meanwhile
		}
		set := records.Row{"statecode": int64(stateLocked), "statuscode": int64(statusInProgress), "hostid": s.owner}
		if row["startedon"] == nil {
			set["startedon"] = s.rec.Now().UTC()
		}
		job, err = s.rec.Update(ctx, tx, jobs, id, set, "", records.Caller{})
		return err
	})
	if err != nil || job == nil {
		if records.AsError(err).Status == 404 {
			return nil
		}
		return err
	}
	var data jobData
	postErr := json.Unmarshal([]byte(str(job, "data")), &data)
	var st step
	if postErr == nil {
		st, postErr = s.stepByID(ctx, data.Step)
	}
	if postErr == nil {
		var rc struct{ PrimaryEntityName, MessageName, CorrelationId string }
		_ = json.Unmarshal(data.Context, &rc)
		postErr = s.post(ctx, st, rc.PrimaryEntityName, rc.MessageName, rc.CorrelationId, data.Context)
	}
	if ctx.Err() != nil {
		return nil // stopping: the job is posted again on the next start
	}
	now := s.rec.Now().UTC()
	return s.rec.Store().Tx(ctx, func(tx store.Tx) error {
		if postErr == nil {
			if st.AsyncAutoDelete {
				return s.rec.Delete(ctx, tx, jobs, id, "", records.Caller{})
			}
			_, err := s.rec.Update(ctx, tx, jobs, id, records.Row{"statecode": int64(stateCompleted), "statuscode": int64(statusSucceeded),
				"completedon": now, "message": nil, "friendlymessage": nil}, "", records.Caller{})
			return err
		}
		retries := num(job, "retrycount")
		msg := postErr.Error()
		set := records.Row{"message": msg, "friendlymessage": msg, "errorcode": int64(-2147204735)}
		if errors.Is(postErr, errPermanent) || retries >= int64(s.retries) {
			set["statecode"], set["statuscode"], set["completedon"] = int64(stateCompleted), int64(statusFailed), now
		} else {
			set["statecode"], set["statuscode"], set["retrycount"] = int64(stateSuspended), int64(statusWaiting), retries+1
			set["postponeuntil"] = now.Add(s.backoff << retries)
		}
		_, err := s.rec.Update(ctx, tx, jobs, id, set, "", records.Caller{})
		return err
	})
}

// stepByID is the registered step id, enabled or not.
func (s *Service) stepByID(ctx context.Context, id string) (step, error) {
	var found step
	err := s.rec.Store().Read(ctx, func(q store.Querier) error {
		all, err := s.load(ctx, q)
		if err != nil {
			return err
		}
		for _, st := range all {
			if st.ID == id {
				found = st
				return nil
			}
		}
		return fmt.Errorf("%w: the step %s is no longer registered or enabled", errPermanent, id)
	})
	return found, err
}
