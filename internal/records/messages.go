package records

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"junction/internal/store"
)

// sdkMessages are the sdkmessage rows an org starts with: the messages
// Junction runs steps on (Create, Update, Delete) and the common ones tools
// look up. Ids: the ones every Dataverse environment gives these messages,
// as public code that binds them directly uses them (Microsoft Learn does not
// list them); a message without one gets an id derived from its name.
var sdkMessages = []struct{ name, id string }{
	{"Assign", "8cbdbb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"Associate", ""},
	{"Create", "9ebdbb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"Delete", "a1bdbb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"Disassociate", ""},
	{"GrantAccess", "c5bdbb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"ModifyAccess", "dcbdbb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"Retrieve", "f2bdbb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"RetrieveMultiple", "03bebb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"RevokeAccess", "11bebb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"SetState", "1cbebb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"SetStateDynamicEntity", "1dbebb1b-ea3e-db11-86a7-000a3a5473e8"},
	{"Update", "20bebb1b-ea3e-db11-86a7-000a3a5473e8"},
}

// SdkMessageID returns the id of a seeded sdkmessage by name ("" for a
// message that is not seeded).
func SdkMessageID(name string) string {
	for _, m := range sdkMessages {
		if strings.EqualFold(m.name, name) {
			if m.id != "" {
				return m.id
			}
			return nameGUID("junction-sdkmessage:" + m.name)
		}
	}
	return ""
}

// SdkMessageFilterID returns the id of the seeded sdkmessagefilter of a
// message on a table ("none" for the messages of no one table).
func SdkMessageFilterID(message, table string) string {
	return nameGUID("junction-sdkmessagefilter:" + message + ":" + table)
}

// messagesOf returns the seeded messages whose steps can be registered on
// t: Create, Update, Delete, Retrieve, RetrieveMultiple and SetState on
// every table, Assign and the sharing messages on tables rows have an
// owner of.
func messagesOf(t *Table) []string {
	out := []string{"Create", "Delete", "Retrieve", "RetrieveMultiple", "Update"}
	if _, ok := t.Column("statecode"); ok {
		out = append(out, "SetState", "SetStateDynamicEntity")
	}
	if t.Ownership == UserOwned {
		out = append(out, "Assign", "GrantAccess", "ModifyAccess", "RevokeAccess")
	}
	return out
}

// syncMessages inserts the sdkmessage rows that do not exist yet (by name:
// one made by hand is kept, with its id) and the sdkmessagefilter rows of
// tables' messages that do not exist yet (by message and table), Associate
// and Disassociate with the filter of no one table ("none"), as Dataverse
// registers them. Rows that exist are left alone, so it runs on every start.
func syncMessages(ctx context.Context, tx store.Tx, tables []*Table, now time.Time) error {
	at := store.Micros(now)
	rows, err := store.Collect(ctx, tx, scanPair, `SELECT name, sdkmessageid FROM "rec_sdkmessage" WHERE name IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("seed sdk messages: %w", err)
	}
	ids := map[string]string{} // by lower-case name
	for _, p := range rows {
		ids[strings.ToLower(p[0])] = p[1]
	}
	var msgs [][]any
	for _, m := range sdkMessages {
		if _, ok := ids[strings.ToLower(m.name)]; ok {
			continue
		}
		id := SdkMessageID(m.name)
		ids[strings.ToLower(m.name)] = id
		msgs = append(msgs, []any{id, m.name, at, at})
	}
	if err := insertRows(ctx, tx, `INSERT INTO "rec_sdkmessage" (sdkmessageid, name, availability, autotransact, isprivate, template, isvalidforexecuteasync, workflowsdkstepenabled, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES `,
		"(?, ?, 0, 1, 0, 0, 0, 1, ?, ?, 1, 0, 1)", msgs); err != nil {
		return fmt.Errorf("seed sdk messages: %w", err)
	}
	existing, err := store.Collect(ctx, tx, scanPair, `SELECT sdkmessageid, primaryobjecttypecode FROM "rec_sdkmessagefilter" WHERE sdkmessageid IS NOT NULL AND primaryobjecttypecode IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("seed sdk message filters: %w", err)
	}
	have := map[string]bool{}
	for _, p := range existing {
		have[p[0]+"/"+strings.ToLower(p[1])] = true
	}
	var filters [][]any
	add := func(message, table string) {
		mid := ids[strings.ToLower(message)]
		if have[mid+"/"+table] {
			return
		}
		have[mid+"/"+table] = true
		filters = append(filters, []any{SdkMessageFilterID(message, table), mid, table, at, at})
	}
	add("Associate", "none")
	add("Disassociate", "none")
	for _, t := range tables {
		for _, m := range messagesOf(t) {
			add(m, t.Name)
		}
	}
	if err := insertRows(ctx, tx, `INSERT INTO "rec_sdkmessagefilter" (sdkmessagefilterid, sdkmessageid, primaryobjecttypecode, secondaryobjecttypecode, availability, iscustomprocessingstepallowed, isvisible, createdon, modifiedon, versionnumber, statecode, statuscode) VALUES `,
		"(?, ?, ?, 'none', 0, 1, 1, ?, ?, 1, 0, 1)", filters); err != nil {
		return fmt.Errorf("seed sdk message filters: %w", err)
	}
	return nil
}

// dropMessageFilters removes the sdkmessagefilter rows of a deleted table.
// The steps registered with them are left in place and run no more (a
// step whose filter is gone matches no table).
func dropMessageFilters(ctx context.Context, tx store.Tx, table string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM "rec_sdkmessagefilter" WHERE primaryobjecttypecode = ?`, table); err != nil {
		return fmt.Errorf("delete table %s: its sdk message filters: %w", table, err)
	}
	return nil
}

func scanPair(r *sql.Rows) (p [2]string, err error) {
	err = r.Scan(&p[0], &p[1])
	return
}
