package webapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/webapi"
)

// TestQueryPlansUseIndexes asks each database how it would run the SQL the
// Web API compiles for the queries Dataverse's indexes serve, over tables
// large enough (and analyzed) for a planner to prefer an index when one fits:
// every plan must read an index, and an $orderby with $top must read rows in
// index order rather than sort the table.
func TestQueryPlansUseIndexes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		seedAccounts(t, b, 20000)
		seedContacts(t, b, 20000, 2000)
		analyze(t, b, "rec_account", "rec_contact")
		h := handler(t, b)
		parent := seededID(7)
		cases := []struct {
			name, set, query string
			index            string // the index the plan must read
			ordered          bool   // no sort of the rows read
		}{
			{"primary name eq, case folded", "accounts", "$filter=name eq 'account 123'", "rec_account_ix_name", false},
			{"lookup eq", "contacts", "$filter=_parentcustomerid_value eq " + parent, "rec_contact_lk_parentcustomerid", false},
			{"orderby primary name, top", "accounts", "$orderby=name&$top=20", "rec_account_ix_name", true},
			{"issue 18's query", "accounts", "$filter=numberofemployees gt 40&$orderby=name&$top=20", "rec_account_ix_name", true},
			{"orderby createdon desc, top", "accounts", "$orderby=createdon desc&$top=50", "rec_account_ix_createdon", true},
			{"orderby modifiedon desc, top", "contacts", "$orderby=modifiedon desc&$top=50", "rec_contact_ix_modifiedon", true},
			{"statecode eq, orderby name, top", "accounts", "$filter=statecode eq 0&$orderby=name&$top=50", "rec_account_ix_statecode", true},
			{"statecode eq, orderby createdon desc, top", "accounts", "$filter=statecode eq 0&$orderby=createdon desc&$top=50", "rec_account_ix_createdon", true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				q, args, err := h.ListSQL(c.set, c.query)
				if err != nil {
					t.Fatal(err)
				}
				p := explain(t, b, q, args)
				if !p.uses(c.index) {
					t.Errorf("%s: the plan does not read %s:\n%s\nSQL: %s %v", c.query, c.index, p, q[strings.Index(q, " FROM "):], args)
				}
				if c.ordered && p.sorts {
					t.Errorf("%s: the plan sorts the rows:\n%s\nSQL: %s", c.query, p, q)
				}
			})
		}
		t.Run("alternate key", func(t *testing.T) {
			q, args, err := h.KeySQL("accounts", "accountnumber='AN123'")
			if err != nil {
				t.Fatal(err)
			}
			if p := explain(t, b, q, args); !p.uses("rec_account_key_account_accountnumber") {
				t.Errorf("the plan does not read the key's index:\n%s\nSQL: %s", p, q)
			}
		})
		t.Run("a parent's related rows", func(t *testing.T) {
			// The SQL an $expand of a collection-valued navigation property
			// runs (Handler.expand): the lookup IN the parents'
			// ids. The lookup's index is partial (rows with a reference only),
			// and IN implies the reference.
			q := `SELECT t."contactid" FROM "rec_contact" t WHERE t."parentcustomerid" IN (?, ?)`
			if p := explain(t, b, q, []any{parent, seededID(8)}); !p.uses("rec_contact_lk_parentcustomerid") {
				t.Errorf("the plan does not read the lookup's index:\n%s\nSQL: %s", p, q)
			}
		})
		// The plans change nothing in what is returned: name eq still folds
		// case, the lookup still finds its rows.
		r := b.mustStatus(b.do("GET", "accounts?"+url.Values{"$filter": {"name eq 'ACCOUNT 123'"}, "$select": {"name"}}.Encode(), nil), 200)
		if v := r.json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["name"] != "Account 123" {
			t.Errorf("name eq 'ACCOUNT 123': %s", r.body)
		}
		r = b.mustStatus(b.do("GET", "contacts?$select=lastname&$filter=_parentcustomerid_value eq "+parent, nil), 200)
		if v := r.json(t)["value"].([]any); len(v) != 10 {
			t.Errorf("contacts of account 7: %d, want 10", len(v))
		}
		// Rows without a reference are not in the lookup's index, and are
		// still found.
		r = b.mustStatus(b.do("GET", "accounts?"+url.Values{"$select": {"name"}, "$filter": {"_parentaccountid_value eq null and revenue eq 123"}}.Encode(), nil), 200)
		if v := r.json(t)["value"].([]any); len(v) != 20 {
			t.Errorf("accounts without a parent and of revenue 123: %d, want 20", len(v))
		}
	})
}

// handler is b's Web API handler.
func handler(t *testing.T, b *bundle) *webapi.Handler {
	t.Helper()
	for _, c := range b.app.Components() {
		if w, ok := c.(*webapi.Component); ok {
			return w.Handler()
		}
	}
	t.Fatal("no webapi component")
	return nil
}

// seededID is the id seedAccounts gives account i.
func seededID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// seedContacts inserts n contacts, contact i with account i%parents+1 (one
// of seedAccounts') as its company.
func seedContacts(tb testing.TB, bd *bundle, n, parents int) {
	tb.Helper()
	id, parent := `'00000000-0000-4000-9000-' || substr('000000000000' || i, -12, 12)`, `'00000000-0000-4000-8000-' || substr('000000000000' || (i % ? + 1), -12, 12)`
	if bd.app.Store().Dialect() == store.Postgres {
		id, parent = `'00000000-0000-4000-9000-' || lpad(i::text, 12, '0')`, `'00000000-0000-4000-8000-' || lpad((i % ? + 1)::text, 12, '0')`
	}
	err := bd.app.Store().Tx(context.Background(), func(tx store.Tx) error {
		_, err := tx.Exec(context.Background(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO rec_contact (contactid, lastname, fullname, parentcustomerid, parentcustomerid__type, createdon, modifiedon, versionnumber, statecode, statuscode, ownerid)
SELECT `+id+`, 'Contact ' || i, 'Contact ' || i, `+parent+`, 'account', i, i, 1, 0, 1, ? FROM n`, n, parents, records.SystemUserID)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// plan is what a database says it would do with a statement.
type plan struct {
	text    string
	indexes []string
	sorts   bool // sorts the rows (not only ties within an index order)
}

func (p plan) String() string { return p.text }

func (p plan) uses(index string) bool {
	for _, i := range p.indexes {
		if i == index {
			return true
		}
	}
	return false
}

// explain runs EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (FORMAT JSON)
// (PostgreSQL) of q with args.
func explain(t *testing.T, b *bundle, q string, args []any) plan {
	t.Helper()
	var p plan
	err := b.app.Store().Read(context.Background(), func(qr store.Querier) error {
		if qr.Dialect() == store.Postgres {
			var js string
			if err := qr.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+q, args...).Scan(&js); err != nil {
				return err
			}
			p = pgPlan(t, js)
			return nil
		}
		rows, err := qr.Query(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return err
			}
			p.text += detail + "\n"
			switch {
			case strings.Contains(detail, " INDEX "):
				name := strings.Fields(detail[strings.Index(detail, " INDEX ")+len(" INDEX "):])[0]
				p.indexes = append(p.indexes, name)
			case strings.Contains(detail, "TEMP B-TREE FOR ORDER BY"):
				p.sorts = true
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	return p
}

func pgPlan(t *testing.T, js string) plan {
	t.Helper()
	type node struct {
		Type  string `json:"Node Type"`
		Index string `json:"Index Name"`
		Plans []node `json:"Plans"`
	}
	var top []struct {
		Plan node `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(js), &top); err != nil || len(top) != 1 {
		t.Fatalf("EXPLAIN output %s: %v", js, err)
	}
	p := plan{text: js}
	var walk func(n node)
	walk = func(n node) {
		switch n.Type {
		case "Sort":
			p.sorts = true
		}
		if n.Index != "" {
			p.indexes = append(p.indexes, n.Index)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(top[0].Plan)
	return p
}
