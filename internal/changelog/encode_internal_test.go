package changelog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"testing"
)

// referenceFull is the image encoding as first written, with json.Marshal
// sorting the map: encodeFull must write the same bytes and shape.
func referenceFull(row map[string]any) (string, shape, error) {
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	raw, _ := json.Marshal(keys)
	sum := sha256.Sum256(raw)
	s := shape{id: hex.EncodeToString(sum[:8]), keys: string(raw)}
	values := map[string]any{}
	for k, v := range row {
		if v != nil {
			values[k] = v
		}
	}
	b, err := json.Marshal([]any{s.id, values})
	return string(b), s, err
}

// TestEncodeFullAsMarshal: rows of every value type the records service
// appends, strings that json.Marshal escapes, column names that do, and the
// same columns in new maps (the cached layout) encode as json.Marshal does;
// rows with other columns of the same count get their own shape.
func TestEncodeFullAsMarshal(t *testing.T) {
	t.Parallel()
	rows := []map[string]any{
		{"accountid": "a1", "name": "Contoso <&> \"quoted\" \\ \u2028 \x01 é", "revenue": 10.5, "big": 1e21, "small": 1e-7,
			"n": int64(-42), "i": 7, "ok": true, "no": false, "fax": nil,
			"ownerid": map[string]any{"logicalName": "systemuser", "id": "6d1a"}, "tags": []any{"x", 1.0}},
		{"accountid": "a1", "name": "Fabrikam", "revenue": nil, "big": 3.0, "small": nil, "n": nil, "i": nil, "ok": nil, "no": nil, "fax": "555",
			"ownerid": nil, "tags": nil},
		{"<weird>": "x", "ü": 1.5, "a&b": nil},
		{"accountid": "a2", "name": "Other", "revenue": 1.0, "big": 2.0, "small": 1.0, "n": int64(1), "i": 1, "ok": true, "no": true, "fax": "x",
			"ownerid": nil, "renamed": nil}, // same count as the first, other columns
		{},
	}
	for round := range 2 { // the second round reads the cached layouts
		for i, row := range rows {
			copied := make(map[string]any, len(row))
			for k, v := range row {
				copied[k] = v
			}
			got, gotShape, err := encodeFull(copied, nil)
			want, wantShape, wantErr := referenceFull(row)
			if err != nil || wantErr != nil {
				t.Fatalf("round %d row %d: %v / %v", round, i, err, wantErr)
			}
			if !got.Valid || got.String != want {
				t.Errorf("round %d row %d:\n got %s\nwant %s", round, i, got.String, want)
			}
			if *gotShape != wantShape {
				t.Errorf("round %d row %d: shape %+v, want %+v", round, i, *gotShape, wantShape)
			}
			// The same row given as its non-null values and its layout.
			var cols []string
			compact := map[string]any{}
			for k, v := range row {
				cols = append(cols, k)
				if v != nil {
					compact[k] = v
				}
			}
			lay := NewLayout(cols)
			got, gotShape, err = encodeFull(compact, lay)
			if err != nil || got.String != want || *gotShape != wantShape {
				t.Errorf("round %d row %d with its layout: %s %+v %v, want %s %+v", round, i, got.String, *gotShape, err, want, wantShape)
			}
			whole := Change{After: compact, Layout: lay}.Whole()
			if whole.Layout != nil || !reflect.DeepEqual(whole.After, row) {
				t.Errorf("round %d row %d: whole image %v, want %v", round, i, whole.After, row)
			}
		}
	}
	if _, _, err := encodeFull(map[string]any{"name": "x", "other": 1}, NewLayout([]string{"name"})); err == nil {
		t.Error("a column outside the layout encoded without error")
	}
	if _, _, err := encodeFull(map[string]any{"x": math.NaN()}, nil); err == nil {
		t.Error("NaN encoded without error")
	}
	if got, s, err := encodeFull(nil, nil); got.Valid || s != nil || err != nil {
		t.Errorf("nil row: %v %v %v", got, s, err)
	}
}

// FuzzEncodeFullAsMarshal: any column names and string, number and bool
// values encode as json.Marshal does.
func FuzzEncodeFullAsMarshal(f *testing.F) {
	f.Add("name", "Contoso <&>", "fax", 10.5, int64(3), true)
	f.Add("\u2028", "\xff\x00", "", 1e21, int64(-1), false)
	f.Add("id", "6d1a2b3c-0000-4000-8000-000000000003", "logicalName", 1e-7, int64(0), true)
	f.Add("x", "<a>", "y", 123456.789, int64(1), false)
	f.Fuzz(func(t *testing.T, k1, v1, k2 string, fl float64, n int64, b bool) {
		row := map[string]any{k1: v1, k2: nil, "f" + k2: fl, "n" + k1: n, "b": b,
			"r" + k1: map[string]any{"id": v1, "logicalName": k2}, "m" + k2: map[string]any{"id": k1}}
		got, gotShape, err := encodeFull(row, nil)
		want, wantShape, wantErr := referenceFull(row)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if got.String != want || *gotShape != wantShape {
			t.Fatalf("got %s %+v\nwant %s %+v", got.String, *gotShape, want, wantShape)
		}
	})
}
