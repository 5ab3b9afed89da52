package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"junction/internal/store"
	"junction/internal/store/postgres"
	"junction/internal/store/storetest"
)

// TestQueryValuesInEveryExecMode: QueryValues gives what Scan into an *any
// gives whatever statement mode the URL sets (default_query_exec_mode):
// with the simple protocol or the exec mode every value comes in text, the
// numbers, bools, bytes and times too.
func TestQueryValuesInEveryExecMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const query = `SELECT true, 5::int8, 8::int4, 7::int2, 2.5::float4, 1.25::float8, '\x00ff'::bytea, ''::bytea,
		'2020-01-02'::date, '2020-01-02 03:04:05.5'::timestamp, '2020-01-02 03:04:05.5+02'::timestamptz, 42::oid,
		'infinity'::timestamptz, '1 day 02:00'::interval, ARRAY[1, 2]::int[], ARRAY['a', 'b c']::text[],
		'null'::json, '{"a": 1}'::jsonb, '1.50'::numeric(5, 2), 'ab'::char(4), NULL::int8, NULL::bool`
	for _, mode := range []string{"", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			url := storetest.RequirePostgres(t)
			if mode != "" {
				sep := "?"
				if strings.Contains(url, "?") {
					sep = "&"
				}
				url += sep + "default_query_exec_mode=" + mode
			}
			s, err := postgres.Open(ctx, url, postgres.Options{Schema: storetest.NewSchema(t), MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want := storetest.ScanAny(t, s, query)[0]
			var got []any
			if err := store.ReadOne(ctx, s, func(q store.Querier) error {
				return store.QueryValues(ctx, q, query, nil, func(row []any) error { got = slices.Clone(row); return nil })
			}); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("column %d: QueryValues gave %#v, Scan gives %#v", i+1, got[i], want[i])
				}
			}
		})
	}
}
