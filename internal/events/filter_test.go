package events

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func mustEvent(t testing.TB, js string) *Event {
	t.Helper()
	evs, err := decodeEventGrid([]byte(js), "t")
	if err != nil {
		t.Fatal(err)
	}
	return &evs[0]
}

func parseFilter(t testing.TB, js string) *Filter {
	t.Helper()
	var f Filter
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		t.Fatal(err)
	}
	if err := f.normalize(); err != nil {
		t.Fatalf("filter %s: %v", js, err)
	}
	return &f
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	ev := mustEvent(t, `[{"id":"1","subject":"/Tables/Account/42.json","eventType":"Grant.Approved","eventTime":"2024-01-01T00:00:00Z",
		"data":{"amount":250,"status":"Approved","flag":true,"tags":["eu","vip"],"nums":[1,5],"nested":{"city":"Oslo"},"nothing":null}}]`)
	cases := []struct {
		name   string
		filter string
		want   bool
	}{
		{"empty", `{}`, true},
		{"type in", `{"includedEventTypes":["grant.approved","Other"]}`, true},
		{"type out", `{"includedEventTypes":["Grant.Rejected"]}`, false},
		{"subject begins insensitive", `{"subjectBeginsWith":"/tables/account"}`, true},
		{"subject begins sensitive miss", `{"subjectBeginsWith":"/tables/account","isSubjectCaseSensitive":true}`, false},
		{"subject begins sensitive hit", `{"subjectBeginsWith":"/Tables/Account","isSubjectCaseSensitive":true}`, true},
		{"subject ends", `{"subjectEndsWith":".JSON"}`, true},
		{"subject ends miss", `{"subjectEndsWith":".xml"}`, false},
		{"NumberIn", `{"advancedFilters":[{"operatorType":"NumberIn","key":"data.amount","values":[1,250]}]}`, true},
		{"NumberIn miss", `{"advancedFilters":[{"operatorType":"NumberIn","key":"data.amount","values":[1,2]}]}`, false},
		{"NumberNotIn", `{"advancedFilters":[{"operatorType":"NumberNotIn","key":"data.amount","values":[1,2]}]}`, true},
		{"NumberNotIn miss", `{"advancedFilters":[{"operatorType":"NumberNotIn","key":"data.amount","values":[250]}]}`, false},
		{"NumberLessThan", `{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.amount","value":251}]}`, true},
		{"NumberLessThan equal", `{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.amount","value":250}]}`, false},
		{"NumberLessThanOrEquals", `{"advancedFilters":[{"operatorType":"NumberLessThanOrEquals","key":"data.amount","value":250}]}`, true},
		{"NumberGreaterThan", `{"advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.amount","value":250}]}`, false},
		{"NumberGreaterThanOrEquals", `{"advancedFilters":[{"operatorType":"NumberGreaterThanOrEquals","key":"data.amount","value":250}]}`, true},
		{"NumberInRange", `{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.amount","values":[[0,10],[200,300]]}]}`, true},
		{"NumberInRange miss", `{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.amount","values":[[0,10]]}]}`, false},
		{"NumberNotInRange", `{"advancedFilters":[{"operatorType":"NumberNotInRange","key":"data.amount","values":[[0,10]]}]}`, true},
		{"BoolEquals", `{"advancedFilters":[{"operatorType":"BoolEquals","key":"data.flag","value":true}]}`, true},
		{"BoolEquals false", `{"advancedFilters":[{"operatorType":"BoolEquals","key":"data.flag","value":false}]}`, false},
		{"StringContains insensitive", `{"advancedFilters":[{"operatorType":"StringContains","key":"data.status","values":["PROV"]}]}`, true},
		{"StringNotContains", `{"advancedFilters":[{"operatorType":"StringNotContains","key":"data.status","values":["rej"]}]}`, true},
		{"StringBeginsWith", `{"advancedFilters":[{"operatorType":"StringBeginsWith","key":"data.status","values":["x","appr"]}]}`, true},
		{"StringNotBeginsWith", `{"advancedFilters":[{"operatorType":"StringNotBeginsWith","key":"data.status","values":["appr"]}]}`, false},
		{"StringEndsWith", `{"advancedFilters":[{"operatorType":"StringEndsWith","key":"data.status","values":["VED"]}]}`, true},
		{"StringNotEndsWith", `{"advancedFilters":[{"operatorType":"StringNotEndsWith","key":"data.status","values":["x"]}]}`, true},
		{"StringIn", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.status","values":["approved"]}]}`, true},
		{"StringNotIn", `{"advancedFilters":[{"operatorType":"StringNotIn","key":"data.status","values":["approved"]}]}`, false},
		{"nested key", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.nested.city","values":["oslo"]}]}`, true},
		{"envelope key", `{"advancedFilters":[{"operatorType":"StringIn","key":"eventType","values":["grant.approved"]}]}`, true},
		{"envelope key subject", `{"advancedFilters":[{"operatorType":"StringBeginsWith","key":"subject","values":["/tables"]}]}`, true},
		{"wrong type does not match", `{"advancedFilters":[{"operatorType":"NumberIn","key":"data.status","values":[1]}]}`, false},
		{"wrong type negated does not match", `{"advancedFilters":[{"operatorType":"NumberNotIn","key":"data.status","values":[1]}]}`, false},
		{"missing key", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.nope","values":["a"]}]}`, false},
		{"missing key negated", `{"advancedFilters":[{"operatorType":"StringNotIn","key":"data.nope","values":["a"]}]}`, true},
		{"IsNullOrUndefined missing", `{"advancedFilters":[{"operatorType":"IsNullOrUndefined","key":"data.nope"}]}`, true},
		{"IsNullOrUndefined null", `{"advancedFilters":[{"operatorType":"IsNullOrUndefined","key":"data.nothing"}]}`, true},
		{"IsNullOrUndefined present", `{"advancedFilters":[{"operatorType":"IsNullOrUndefined","key":"data.status"}]}`, false},
		{"IsNotNull", `{"advancedFilters":[{"operatorType":"IsNotNull","key":"data.status"}]}`, true},
		{"IsNotNull null", `{"advancedFilters":[{"operatorType":"IsNotNull","key":"data.nothing"}]}`, false},
		{"array off", `{"advancedFilters":[{"operatorType":"StringIn","key":"data.tags","values":["vip"]}]}`, false},
		{"array on", `{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"StringIn","key":"data.tags","values":["vip"]}]}`, true},
		{"array on none", `{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"StringIn","key":"data.tags","values":["us"]}]}`, false},
		{"array on negated", `{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"StringNotIn","key":"data.tags","values":["vip"]}]}`, false},
		{"array numbers", `{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.nums","value":4}]}`, true},
		{"ANDed", `{"advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.amount","value":100},{"operatorType":"StringIn","key":"data.status","values":["rejected"]}]}`, false},
		{"all together", `{"includedEventTypes":["Grant.Approved"],"subjectBeginsWith":"/tables/","advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.amount","value":100}]}`, true},
	}
	for _, c := range cases {
		if got := parseFilter(t, c.filter).Match(ev); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFilterInvalid(t *testing.T) {
	t.Parallel()
	many := make([]string, 26)
	for i := range many {
		many[i] = `{"operatorType":"IsNotNull","key":"data.a"}`
	}
	values := make([]string, 26)
	for i := range values {
		values[i] = `"v"`
	}
	cases := map[string]string{
		"unknown operator":    `{"advancedFilters":[{"operatorType":"Regex","key":"data.a","values":["x"]}]}`,
		"no key":              `{"advancedFilters":[{"operatorType":"IsNotNull"}]}`,
		"number needs number": `{"advancedFilters":[{"operatorType":"NumberLessThan","key":"data.a","value":"x"}]}`,
		"bool needs bool":     `{"advancedFilters":[{"operatorType":"BoolEquals","key":"data.a","value":1}]}`,
		"range pair":          `{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.a","values":[[3,1]]}]}`,
		"string values":       `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":[1]}]}`,
		"empty values":        `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":[]}]}`,
		"null takes nothing":  `{"advancedFilters":[{"operatorType":"IsNotNull","key":"data.a","value":1}]}`,
		"26 filters":          `{"advancedFilters":[` + strings.Join(many, ",") + `]}`,
		"26 values":           `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":[` + strings.Join(values, ",") + `]}]}`,
		"long string":         `{"advancedFilters":[{"operatorType":"StringIn","key":"data.a","values":["` + strings.Repeat("x", 513) + `"]}]}`,
	}
	for name, js := range cases {
		var f Filter
		if err := json.Unmarshal([]byte(js), &f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := f.normalize(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzFilter evaluates arbitrary filters against arbitrary events: it must
// never panic, and a filter that normalizes must re-normalize the same.
func FuzzFilter(f *testing.F) {
	f.Add(`{"advancedFilters":[{"operatorType":"NumberInRange","key":"data.a","values":[[0,5]]}]}`, `{"a":3}`)
	f.Add(`{"enableAdvancedFilteringOnArrays":true,"advancedFilters":[{"operatorType":"StringNotIn","key":"data.a","values":["x"]}]}`, `{"a":["x",1,null]}`)
	f.Add(`{"includedEventTypes":["T"],"subjectBeginsWith":"/a","subjectEndsWith":"b"}`, `null`)
	f.Add(`{"advancedFilters":[{"operatorType":"BoolEquals","key":"data","value":true}]}`, `true`)
	f.Fuzz(func(t *testing.T, filter, data string) {
		var flt Filter
		if json.Unmarshal([]byte(filter), &flt) != nil || flt.normalize() != nil {
			return
		}
		if !json.Valid([]byte(data)) {
			return
		}
		ev := &Event{Schema: SchemaEventGrid, ID: "1", Subject: "/a/b", Type: "T", Data: json.RawMessage(data)}
		first := flt.Match(ev)
		if flt.Match(ev) != first {
			t.Fatal("Match is not deterministic")
		}
	})
}

// FuzzDecodeEventGrid feeds arbitrary bodies to the Event Grid decoder: it
// must not panic, and every accepted event has the required fields.
func FuzzDecodeEventGrid(f *testing.F) {
	f.Add([]byte(`[{"id":"1","subject":"s","eventType":"t","eventTime":"2024-01-01T00:00:00Z","data":{}}]`))
	f.Add([]byte(`{"id":"1","subject":"s","eventType":"t","eventTime":"2024-01-01T00:00:00Z"}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := decodeEventGrid(body, "t")
		if err != nil {
			if err.Status != 400 && err.Status != 413 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		for _, e := range evs {
			if e.ID == "" || e.Subject == "" || e.Type == "" || e.Time == "" {
				t.Fatalf("accepted an event without required fields: %+v", e)
			}
			if _, err := json.Marshal(e.EventGrid()); err != nil {
				t.Fatalf("cannot render %+v: %v", e, err)
			}
		}
	})
}

// FuzzDecodeCloudEvents feeds arbitrary bodies and headers to the CloudEvents
// decoder in every mode.
func FuzzDecodeCloudEvents(f *testing.F) {
	f.Add("application/cloudevents+json", "", []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1}`))
	f.Add("application/cloudevents-batch+json", "", []byte(`[{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"AA=="}]`))
	f.Add("text/plain", "1.0", []byte(`hello`))
	f.Add("application/json", "1.0", []byte(`{"a":1}`))
	f.Fuzz(func(t *testing.T, ct, spec string, body []byte) {
		h := http.Header{}
		h.Set("Content-Type", ct)
		if spec != "" {
			h.Set("ce-specversion", spec)
			h.Set("ce-id", "1")
			h.Set("ce-source", "/s")
			h.Set("ce-type", "t")
		}
		evs, err := decodeCloudEvents(h, body)
		if err != nil {
			if err.Status != 400 && err.Status != 413 {
				t.Fatalf("status %d", err.Status)
			}
			return
		}
		for _, e := range evs {
			if e.ID == "" || e.Source == "" || e.Type == "" {
				t.Fatalf("accepted an event without required attributes: %+v", e)
			}
			b, err := json.Marshal(e.CloudEvent())
			if err != nil || !json.Valid(b) {
				t.Fatalf("cannot render %+v: %v", e, err)
			}
		}
	})
}
