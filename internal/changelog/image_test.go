package changelog_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"junction/internal/changelog"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// TestImagesReadAsAppended: the compact images (shape plus non-null values,
// an update's before as what differs) read back as the whole rows appended,
// nulls, lookups and columns only one side has included; so do rows stored
// whole by earlier versions.
func TestImagesReadAsAppended(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx, changelog.Migrations()); err != nil {
			t.Fatal(err)
		}
		lookup := map[string]any{"id": "6d1a2b3c-0000-4000-8000-000000000003", "logicalName": "systemuser"}
		created := map[string]any{"accountid": "a1", "name": "Contoso", "revenue": 10.5, "fax": nil, "ownerid": lookup, "tags": []any{"x"}}
		updated := map[string]any{"accountid": "a1", "name": "Fabrikam", "revenue": 10.5, "fax": "555", "ownerid": lookup, "tags": []any{"x"}, "added": nil}
		deleted := map[string]any{"accountid": "a1", "name": "Fabrikam", "revenue": nil, "fax": "555", "ownerid": lookup, "tags": []any{"x"}}
		want := []changelog.Change{
			{Table: "account", RecordID: "a1", Message: changelog.Create, Changed: []string{"name", "revenue"}, After: created},
			{Table: "account", RecordID: "a1", Message: changelog.Update, Changed: []string{"name", "fax", "added"}, Before: created, After: updated},
			{Table: "account", RecordID: "a1", Message: changelog.Delete, Changed: []string{}, Before: deleted},
			{Table: "account", RecordID: "a1", Message: changelog.Create, Changed: []string{"name"}, After: map[string]any{}},
		}
		if err := s.Tx(ctx, func(tx store.Tx) error {
			for _, c := range want {
				if _, err := changelog.Append(ctx, tx, c); err != nil {
					return err
				}
			}
			// A row from before the compact format: the whole image as JSON.
			legacy, _ := json.Marshal(created)
			_, err := tx.Exec(ctx, `INSERT INTO junction_changes (source, table_name, record_id, message, changed, after_row, correlation_id, user_id, at)
				VALUES ('junction', 'account', 'a1', 'Create', '["name"]', ?, '', '', 0)`, string(legacy))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want = append(want, changelog.Change{Message: changelog.Create, Changed: []string{"name"}, After: created})
		if err := changelog.Sequence(ctx, s); err != nil {
			t.Fatal(err)
		}
		var got []changelog.Change
		if err := s.Read(ctx, func(q store.Querier) error {
			var err error
			got, err = changelog.Read(ctx, q, 0, "", 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("read %d changes, appended %d", len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i].Before, want[i].Before) || !reflect.DeepEqual(got[i].After, want[i].After) ||
				!reflect.DeepEqual(got[i].Changed, want[i].Changed) {
				t.Errorf("change %d: got before %v after %v changed %v\nwant before %v after %v changed %v", i,
					got[i].Before, got[i].After, got[i].Changed, want[i].Before, want[i].After, want[i].Changed)
			}
		}
	})
}
