package trace_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"junction/internal/store/storetest"
	"junction/internal/trace"
)

// TestParse follows the W3C Trace Context recommendation's traceparent
// rules (https://www.w3.org/TR/trace-context/#traceparent-header): version
// 00 has exactly four lower-case hex fields; a later version may carry more
// after the flags; all-zero ids and version ff are invalid.
func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		ok      bool
		sampled bool
	}{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, true}, // the recommendation's example
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", true, true}, // unknown flags: sampled bit read
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next", true, true},
		{" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ", true, true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", false, false}, // version 00 has four fields
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra", false, false},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, false},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, false},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", false, false},
		{"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", false, false},
		{"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, false},
		{"", false, false},
	} {
		c, ok := trace.Parse(tc.in)
		if ok != tc.ok || c.Sampled != tc.sampled {
			t.Errorf("Parse(%q) = %+v, %v; want ok %v sampled %v", tc.in, c, ok, tc.ok, tc.sampled)
		}
		if ok && c.Trace() != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("Parse(%q): trace %s", tc.in, c.Trace())
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x", "ff-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := trace.Parse(s)
		if !ok {
			return
		}
		if !c.Valid() {
			t.Fatalf("%q parsed to an invalid context", s)
		}
		// What Parse accepts, String writes as version 00, and reads back.
		again, ok := trace.Parse(c.String())
		if !ok || again != c {
			t.Fatalf("%q: %q does not read back (%+v, %v)", s, c.String(), again, ok)
		}
	})
}

// TestSpansAreRecordedAndRead: sampled spans reach the store with their
// parents, kinds, attributes and errors; unsampled ones propagate but are
// not written; a nil recorder is inert.
func TestSpansAreRecordedAndRead(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, d)
			ctx := context.Background()
			if err := st.Migrate(ctx, trace.Migrations()); err != nil {
				t.Fatal(err)
			}
			rec := trace.New(trace.Config{Store: st, Rate: -1, Flush: 10 * time.Millisecond})
			rec.Start(ctx)

			const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			before := time.Now() // the child says it started before the root
			cctx, root := rec.BeginFrom(ctx, parent, "Web API", "POST /api/data/v9.2/accounts")
			root.Kind(trace.KindServer).Set("http.status_code", "204")
			_, child := rec.Begin(cctx, "Change log", "Create account")
			child.Kind(trace.KindProducer).StartedAt(before.Add(-time.Millisecond))
			child.End(errors.New("the feed stopped"))
			root.End(nil)
			root.End(errors.New("a second End is ignored"))

			_, unsampled := rec.BeginFrom(ctx, "00-11111111111111111111111111111111-2222222222222222-00", "Web API", "GET /x")
			if c := unsampled.Context(); c.Sampled || c.Trace() != "11111111111111111111111111111111" {
				t.Fatalf("unsampled child: %+v", c)
			}
			unsampled.End(nil)
			_, discarded := rec.Begin(ctx, "Web API", "GET /admin")
			discarded.Discard()
			discarded.End(nil)

			var nilRec *trace.Recorder
			nctx, none := nilRec.Begin(ctx, "x", "y")
			none.Set("a", "b").Kind(trace.KindClient).End(nil)
			if nctx != ctx || none.Context().Valid() {
				t.Fatal("a nil recorder began a span")
			}

			if err := rec.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			spans, err := trace.Get(ctx, st, "0AF7651916CD43DD8448EB211C80319C")
			if err != nil {
				t.Fatal(err)
			}
			if len(spans) != 2 {
				t.Fatalf("%d spans: %+v", len(spans), spans)
			}
			byName := map[string]trace.Span{}
			for _, s := range spans {
				byName[s.Name] = s
			}
			r, c := byName["POST /api/data/v9.2/accounts"], byName["Create account"]
			if r.ParentID != "b7ad6b7169203331" || r.Kind != trace.KindServer || r.Attrs["http.status_code"] != "204" || r.Error != "" {
				t.Fatalf("root span %+v", r)
			}
			if c.ParentID != r.SpanID || c.Kind != trace.KindProducer || c.Error != "the feed stopped" || !c.Start.Before(r.Start) {
				t.Fatalf("child span %+v of %+v", c, r)
			}
			if spans[0].Name != "Create account" {
				t.Fatalf("spans not in start order: %+v", spans)
			}
			if _, err := trace.Get(ctx, st, "11111111111111111111111111111111"); !errors.Is(err, trace.ErrNotFound) {
				t.Fatalf("unsampled trace: %v", err)
			}

			// Retention: spans that started before the cut go, in batches.
			n, err := trace.Prune(ctx, st, time.Now().Add(time.Hour), 1)
			if err != nil || n != 1 {
				t.Fatalf("first batch: %d %v", n, err)
			}
			n, err = trace.Prune(ctx, st, time.Now().Add(time.Hour), 10)
			if err != nil || n != 1 {
				t.Fatalf("second batch: %d %v", n, err)
			}
			if _, err := trace.Get(ctx, st, "0af7651916cd43dd8448eb211c80319c"); !errors.Is(err, trace.ErrNotFound) {
				t.Fatalf("pruned trace: %v", err)
			}
		})
	}
}

// TestSamplingRate: new traces are sampled at the configured rate (a bucket
// of one second's worth); none at 0; a sampled parent is always followed.
func TestSamplingRate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	count := func(rec *trace.Recorder, n int) int {
		sampled := 0
		for range n {
			if _, a := rec.Begin(ctx, "Web API", "GET /"); a.Context().Sampled {
				sampled++
			}
		}
		return sampled
	}
	if got := count(trace.New(trace.Config{Rate: 5}), 100); got < 5 || got > 6 {
		t.Fatalf("rate 5: %d of 100 sampled at once", got)
	}
	if got := count(trace.New(trace.Config{Rate: 0}), 100); got != 0 {
		t.Fatalf("rate 0: %d sampled", got)
	}
	if got := count(trace.New(trace.Config{Rate: -1}), 100); got != 100 {
		t.Fatalf("every trace: %d sampled", got)
	}
	off := trace.New(trace.Config{Rate: 0})
	_, a := off.BeginFrom(ctx, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "Web API", "GET /")
	if !a.Context().Sampled {
		t.Fatal("a sampled caller's trace was not followed")
	}
}

// TestTransportSetsTraceparent: outgoing requests carry the context's span
// unless they have a traceparent of their own.
func TestTransportSetsTraceparent(t *testing.T) {
	t.Parallel()
	c, _ := trace.Parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("traceparent"))
	}))
	defer srv.Close()
	client := &http.Client{Transport: trace.Transport{Base: srv.Client().Transport}}
	ctx := trace.With(context.Background(), c)
	const own = "00-11111111111111111111111111111111-2222222222222222-01"
	for _, tp := range []string{"", own} {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		if tp != "" {
			req.Header.Set("traceparent", tp)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get("traceparent") != tp {
			t.Fatal("the caller's request was changed")
		}
	}
	if len(got) != 2 || got[0] != c.String() || got[1] != own {
		t.Fatalf("sent %v", got)
	}
}

// BenchmarkSpan is the cost a traced hop adds: a span begun and ended,
// sampled (handed to the writer, here without a store) or not.
func BenchmarkSpan(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		rate float64
	}{{"unsampled", 0}, {"sampled", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			rec := trace.New(trace.Config{Rate: tc.rate})
			rec.Start(ctx)
			defer rec.Stop(ctx)
			b.ReportAllocs()
			for b.Loop() {
				_, s := rec.BeginFrom(ctx, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", "Web API", "POST /api/data/v9.2/accounts")
				s.Kind(trace.KindServer).Set("http.status_code", "204").End(nil)
				_, s = rec.Begin(ctx, "Web API", "POST /api/data/v9.2/accounts")
				s.Kind(trace.KindServer).Set("http.status_code", "204").End(nil)
			}
		})
	}
}

// TestMessageProperties: a message's trace context is read from its
// traceparent application property first, then Diagnostic-Id (as the newer
// Service Bus SDKs read them), in any case of the name (REST custom
// properties are HTTP headers), skipping invalid values.
func TestMessageProperties(t *testing.T) {
	t.Parallel()
	const a = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	const b = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, c := range []struct {
		props map[string]any
		want  string
		has   bool
	}{
		{map[string]any{"Diagnostic-Id": a}, a, true},
		{map[string]any{"traceparent": b, "Diagnostic-Id": a}, b, true},
		{map[string]any{"Traceparent": b}, b, true},
		{map[string]any{"diagnostic-id": a}, a, true},
		{map[string]any{"traceparent": "not one", "Diagnostic-Id": a}, a, true},
		{map[string]any{"Diagnostic-Id": "|abc.1."}, "", true}, // the SDKs' old hierarchical id
		{map[string]any{"Diagnostic-Id": 42}, "", true},
		{map[string]any{"other": a}, "", false},
		{nil, "", false},
	} {
		if got := trace.FromProperties(c.props); got != c.want {
			t.Errorf("FromProperties(%v) = %q, want %q", c.props, got, c.want)
		}
		if got := trace.HasProperties(c.props); got != c.has {
			t.Errorf("HasProperties(%v) = %v, want %v", c.props, got, c.has)
		}
	}
}
