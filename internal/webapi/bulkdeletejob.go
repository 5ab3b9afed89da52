package webapi

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"junction/internal/lifecycle"
	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// jobData is a bulk delete job's data column: the QuerySet as the call gave
// it and how far the job got, written in the same transaction as each chunk
// it deletes, so that whoever resumes the job knows what was done.
type jobData struct {
	QuerySet json.RawMessage `json:"QuerySet"`
	Query    int             `json:"Query,omitempty"`   // the query under way
	Deleted  int             `json:"Deleted,omitempty"` // rows deleted so far
}

func readJobData(s string) (jobData, error) {
	if b := bytes.TrimSpace([]byte(s)); len(b) > 0 && b[0] == '[' {
		return jobData{QuerySet: b}, nil // a job recorded before progress was kept
	}
	var d jobData
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return d, fmt.Errorf("bulk delete job data: %w", err)
	}
	return d, nil
}

var errLeaseLost = errors.New("the job's lease was lost")

// jobRunner runs BulkDelete jobs in the background. A job runs on the node
// holding its lease ("bulkdelete:<id>"), renewed while it runs; every chunk
// commits only if the lease is still this node's, with the job's progress.
// A node that stops gives its lease up, so another node (or the same one
// restarted) resumes the job at once; a node that dies loses it when it
// expires.
type jobRunner struct {
	h     *Handler
	log   *slog.Logger
	owner string

	*lifecycle.Drainer // Start, Stop, Wake
}

func newJobRunner(h *Handler, log *slog.Logger, owner string) *jobRunner {
	if owner == "" {
		owner = records.NewID()
	}
	j := &jobRunner{h: h, log: log, owner: owner}
	// Stop waits for the job under way, which stops between two chunks (or
	// in one, rolled back) and gives its lease up.
	j.Drainer = lifecycle.NewDrainer(jobPoll, j.runOne, func(err error) { log.Error("bulk delete job", "err", err) })
	return j
}

// runOne runs the oldest job that is ready (and whose start time has come)
// or in progress without a live lease; it reports whether there was one.
func (j *jobRunner) runOne(ctx context.Context) (bool, error) {
	h := j.h
	jobs, ok := h.rec.Table("asyncoperation")
	if !ok {
		return false, nil
	}
	var ids []string
	err := h.rec.Store().Read(ctx, func(q store.Querier) error {
		rows, err := q.Query(ctx, `SELECT asyncoperationid FROM `+records.Quote(jobs.SQLName())+
			` WHERE operationtype = ? AND (statecode = ? AND (postponeuntil IS NULL OR postponeuntil <= ?) OR statecode = ? AND statuscode = ?)
			ORDER BY createdon, asyncoperationid LIMIT 20`,
			opBulkDelete, jobReady, records.SQLValue(h.now().UTC()), jobLocked, jobInProgress)
		if err != nil {
			return err
		}
		ids, err = store.CollectRows(rows, func(r *sql.Rows) (id string, err error) { return id, r.Scan(&id) })
		return err
	})
	if err != nil {
		return false, err
	}
	leases := h.rec.Store().Leases()
	for _, id := range ids {
		lease, err := leases.Acquire(ctx, "bulkdelete:"+id, j.owner, jobLease)
		if errors.Is(err, store.ErrLeaseHeld) {
			continue // running on a live node
		}
		if err != nil {
			return false, err
		}
		ran, err := j.runLeased(ctx, jobs, id, lease)
		if !errors.Is(err, errLeaseLost) {
			if rerr := leases.Release(context.WithoutCancel(ctx), lease); rerr != nil && err == nil {
				err = rerr
			}
		}
		if errors.Is(err, errLeaseLost) {
			j.log.Warn("bulk delete job: lease lost, another node carries on", "job", id)
			err = nil
		}
		if ran || err != nil {
			return ran, err
		}
	}
	return false, nil
}

// runLeased claims job id, holding lease, runs it and records its end.
func (j *jobRunner) runLeased(ctx context.Context, jobs *records.Table, id string, lease store.Lease) (bool, error) {
	h := j.h
	var job records.Row
	err := h.rec.Store().Tx(ctx, func(tx store.Tx) error {
		row, err := h.rec.Get(ctx, tx, jobs, id)
		if err != nil {
			return err
		}
		st, _ := row["statecode"].(int64)
		if st != jobReady && st != jobLocked {
			return nil // finished meanwhile
		}
		set := records.Row{"statecode": int64(jobLocked), "statuscode": int64(jobInProgress), "hostid": j.owner}
		if st == jobReady {
			set["startedon"] = h.now().UTC()
		}
		if job, err = h.rec.Update(ctx, tx, jobs, id, set, "", records.Caller{UserID: ownerID(row)}); err != nil {
			return err
		}
		return nil
	})
	if err != nil || job == nil {
		return false, err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	go j.renew(runCtx, lease, cancel, done)
	n, runErr := j.run(runCtx, jobs, job, lease)
	cancel(nil)
	<-done
	if errors.Is(context.Cause(runCtx), errLeaseLost) || errors.Is(runErr, errLeaseLost) {
		return true, errLeaseLost
	}
	if ctx.Err() != nil {
		return false, nil // stopping: the job resumes where it got to
	}
	msg := fmt.Sprintf("%d records deleted.", n)
	done2 := records.Row{"statecode": int64(jobCompleted), "statuscode": int64(jobSucceeded), "completedon": h.now().UTC(), "message": msg, "friendlymessage": msg}
	if runErr != nil {
		done2["statuscode"] = int64(jobFailed)
		done2["message"] = fmt.Sprintf("%d records deleted before the job failed: %v", n, runErr)
		done2["friendlymessage"] = records.AsError(runErr).Message
	}
	err = h.rec.Store().Tx(ctx, func(tx store.Tx) error {
		if err := holds(ctx, tx, lease); err != nil {
			return err
		}
		_, err := h.rec.Update(ctx, tx, jobs, id, done2, "", records.Caller{UserID: ownerID(job)})
		return err
	})
	return true, err
}

// renew keeps lease alive until ctx ends, cancelling the job when it is lost.
func (j *jobRunner) renew(ctx context.Context, lease store.Lease, cancel context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(jobLease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			renewed, err := j.h.rec.Store().Leases().Renew(ctx, lease, jobLease)
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				cancel(errLeaseLost)
				return
			case err == nil:
				lease = renewed
			case ctx.Err() == nil:
				j.log.Warn("bulk delete job: renew lease", "err", err)
			}
		}
	}
}

// holds fences a write: it fails with errLeaseLost unless lease is still
// held, in the write's own transaction.
func holds(ctx context.Context, tx store.Tx, lease store.Lease) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM junction_leases WHERE name = ? AND owner = ? AND token = ? AND expires_at >= `+tx.Dialect().NowExpr(),
		lease.Name, lease.Owner, lease.Token).Scan(&one)
	if errors.Is(err, store.ErrNotFound) {
		return errLeaseLost
	}
	return err
}

func ownerID(row records.Row) string {
	if ref, ok := row["ownerid"].(records.Ref); ok {
		return ref.ID
	}
	return records.SystemUserID
}

// run deletes the rows of each query of the job from where it got to, in
// chunks, each chunk one transaction with its change-log entries and the
// job's progress. It returns the rows deleted by the job in all.
func (j *jobRunner) run(ctx context.Context, jobs *records.Table, job records.Row, lease store.Lease) (int, error) {
	h := j.h
	id := job["asyncoperationid"].(string)
	raw, _ := job["data"].(string)
	state, err := readJobData(raw)
	if err != nil {
		return 0, err
	}
	queries, err := decodeQuerySet(state.QuerySet)
	if err != nil {
		return state.Deleted, err
	}
	// The job runs with its owner's privileges: it reads and deletes only the
	// rows the owner could.
	owner := ownerID(job)
	grants := records.AdminGrants(owner)
	if owner != records.SystemUserID {
		if grants, err = h.rec.Grants(ctx, owner, false); err != nil {
			return state.Deleted, err
		}
	}
	caller := records.Caller{UserID: owner, CorrelationID: id, Grants: grants}
	rq := &req{user: owner, grants: grants}
	for ; state.Query < len(queries); state.Query++ {
		t, filter, err := h.planBulkDelete(queries[state.Query], caller.UserID)
		if err != nil {
			return state.Deleted, err
		}
		// With Delete at user depth only, only the owner's own rows are
		// candidates (the rows it may read but not delete are left alone).
		var own []odata.Frag
		depth, err := grants.Need(records.RightDelete, t)
		if err != nil {
			return state.Deleted, err
		}
		if depth <= records.DepthBasic {
			own = []odata.Frag{{SQL: `t."ownerid" = ?`, Args: []any{owner}}}
		}
		for {
			if ctx.Err() != nil {
				return state.Deleted, context.Cause(ctx)
			}
			n := 0
			err := h.rec.Store().Tx(ctx, func(tx store.Tx) error {
				if err := holds(ctx, tx, lease); err != nil {
					return err
				}
				rows, err := h.selectRows(ctx, tx, rq, t, filter, own, nil, bulkDeleteChunk, 0)
				if err != nil {
					return err
				}
				for _, r := range rows {
					if err := h.rec.Delete(ctx, tx, t, r[t.PrimaryID()].(string), "", caller); err != nil {
						return err
					}
				}
				n = len(rows)
				next := state
				next.Deleted += n
				if n < bulkDeleteChunk {
					next.Query++
				}
				data, err := json.Marshal(next)
				if err != nil {
					return err
				}
				_, err = h.rec.Update(ctx, tx, jobs, id, records.Row{"data": string(data)}, "", records.Caller{UserID: owner})
				return err
			})
			if err != nil {
				return state.Deleted, err
			}
			state.Deleted += n
			if n < bulkDeleteChunk {
				break
			}
		}
	}
	return state.Deleted, nil
}
