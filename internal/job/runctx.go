package job

import "context"

// runKey is the context key under which a run's work carries the run.
type runKey struct{}

type runRef struct {
	job string
	id  int64
}

// withRun returns ctx carrying run id of job.
func withRun(ctx context.Context, job string, id int64) context.Context {
	return context.WithValue(ctx, runKey{}, runRef{job, id})
}

// RunOf returns the job and the run whose work ctx belongs to, so that a
// sink can name the run in what it writes (Junction tables put it in the
// change log as the correlation id job:NAME:RUN).
func RunOf(ctx context.Context) (job string, id int64, ok bool) {
	r, ok := ctx.Value(runKey{}).(runRef)
	return r.job, r.id, ok
}
