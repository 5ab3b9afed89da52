package workflow

import (
	"context"
	"testing"
	"time"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

// A Response's caller is answered once the Response's record, and the records
// held back before it, are committed: what the caller was told survives a
// crash. The action after the Response hangs, so the run's end does not
// commit them instead.
func TestResponseAnsweredAfterItsRecordCommits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		_, url := hangingServer(t)
		b := setup(t, s)
		l := b.deploy(t, "early", def(`{
			"Shape":{"type":"Compose","inputs":{"n":"@triggerBody()?['n']"}},
			"Answer":{"type":"Response","inputs":{"statusCode":200,"body":"@outputs('Shape')"},"runAfter":{"Shape":["Succeeded"]}},
			"Later":{"type":"Http","inputs":{"method":"GET","uri":"`+url+`/second"},"runAfter":{"Answer":["Succeeded"]}}}`))
		h, err := b.e.StartRun(context.Background(), l, StartOptions{Outputs: map[string]any{"body": map[string]any{"n": int64(7)}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := h.Response(ctx)
		if err != nil || resp == nil {
			t.Fatalf("no response: %v", err)
		}
		r, err := loadRun(context.Background(), s, h.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if rec(r, "Answer") == nil || rec(r, "Shape") == nil {
			t.Fatalf("answered before the records were committed: %v", paths(r))
		}
	})
}

// A Response that runs beside an action that hangs answers at once: its record
// does not wait for the run's next write.
func TestResponseBesideALongActionAnswersAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		bl, url := hangingServer(t)
		b := setup(t, s)
		l := b.deploy(t, "beside", def(`{
			"Later":{"type":"Http","inputs":{"method":"GET","uri":"`+url+`/second"}},
			"Answer":{"type":"Response","inputs":{"statusCode":202}}}`))
		h, err := b.e.StartRun(context.Background(), l, StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		<-bl.entered
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if resp, err := h.Response(ctx); err != nil || resp == nil || resp.StatusCode != 202 {
			t.Fatalf("no answer while the other branch hangs: %v %v", resp, err)
		}
		if r, err := loadRun(context.Background(), s, h.ID, true); err != nil || rec(r, "Answer") == nil {
			t.Fatalf("answered before the record was committed: %v %v", err, r)
		}
	})
}
