package webapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"junction/internal/server"
)

// TestBulkDelete follows "Delete data in bulk" / "BulkDelete Action": the
// call answers a JobId at once, the job runs in the background and the
// client polls asyncoperations(JobId) until it is Completed.
func TestBulkDelete(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		var targets []any
		for i := range 620 {
			targets = append(targets, map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": fmt.Sprintf("Bulk %d", i), "numberofemployees": i % 3})
		}
		b.mustStatus(b.do("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": targets}), 200)
		b.create("accounts", map[string]any{"name": "Fourth Coffee"})
		keep := b.create("accounts", map[string]any{"name": "Keep me"})

		query := func(entity string, cond ...map[string]any) map[string]any {
			return map[string]any{"EntityName": entity, "ColumnSet": map[string]any{"AllColumns": false, "Columns": []any{}},
				"Criteria": map[string]any{"FilterOperator": "And", "Conditions": cond}}
		}
		cond := func(attr, op string, vals ...any) map[string]any {
			var vs []any
			for _, v := range vals {
				vs = append(vs, map[string]any{"Value": v, "Type": fmt.Sprintf("System.%T", v)})
			}
			return map[string]any{"AttributeName": attr, "Operator": op, "Values": vs}
		}
		call := func(qs ...any) resp {
			return b.do("POST", "BulkDelete", map[string]any{"QuerySet": qs, "JobName": "Bulk Delete Accounts", "SendEmailNotification": false,
				"ToRecipients": []any{}, "CCRecipients": []any{}, "RecurrencePattern": "", "StartDateTime": "2020-01-01T00:00:00Z"})
		}
		// Bad calls are refused with the call and record no job.
		for _, bad := range []struct {
			q    any
			code string
		}{
			{query("nothing", cond("name", "Equal", "x")), "namemapping"},
			{query("account", cond("name", "Sounds", "x")), "not supported"},
			{query("account", cond("nosuchcolumn", "Equal", "x")), "nosuchcolumn"},
			{query("account", cond("name", "Like", "a%b")), "Like patterns"},
		} {
			r := call(bad.q)
			if r.status != 400 || !strings.Contains(string(r.body), bad.code) {
				t.Fatalf("%v: %d %s", bad.q, r.status, r.body)
			}
		}
		if n := strings.TrimSpace(string(b.mustStatus(b.do("GET", "asyncoperations/$count", nil), 200).body)); n != "0" {
			t.Fatalf("refused calls left %s jobs", n)
		}

		r := b.mustStatus(call(query("account", cond("name", "Like", "Bulk%"), cond("numberofemployees", "In", 0, 1, 2)), query("account", cond("name", "Equal", "Fourth Coffee"))), 200)
		m := r.json(t)
		if m["@odata.context"] != b.base+"$metadata#Microsoft.Dynamics.CRM.BulkDeleteResponse" {
			t.Fatalf("context %v", m["@odata.context"])
		}
		job, _ := m["JobId"].(string)
		var st map[string]any
		for deadline := time.Now().Add(60 * time.Second); ; {
			st = b.mustStatus(b.do("GET", "asyncoperations("+job+")?$select=name,operationtype,statecode,statuscode,message", nil), 200).json(t)
			if st["statecode"] == float64(3) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st["statecode"] != float64(3) || st["statuscode"] != float64(30) || st["operationtype"] != float64(13) || st["message"] != "621 records deleted." || st["name"] != "Bulk Delete Accounts" {
			t.Fatalf("job %v", st)
		}
		rest := b.mustStatus(b.do("GET", "accounts?$select=name", nil), 200).json(t)
		if v := rest["value"].([]any); len(v) != 1 || v[0].(map[string]any)["accountid"] != keep {
			t.Fatalf("left %v", rest)
		}
	})
}

// TestBulkDeleteKeepsToTheCallersRows: the job runs with its owner's
// privileges, so a Basic User's job deletes only the rows it owns.
func TestBulkDeleteKeepsToTheCallersRows(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		_, secret, err := b.app.Keys().Create(context.Background(), "basic", server.RoleSender)
		if err != nil {
			t.Fatal(err)
		}
		basic := b.as(t, secret)
		basic.create("accounts", map[string]any{"name": "Mine 1"})
		basic.create("accounts", map[string]any{"name": "Mine 2"})
		b.create("accounts", map[string]any{"name": "Admin's 1"})
		b.create("accounts", map[string]any{"name": "Admin's 2"})
		r := basic.mustStatus(basic.do("POST", "BulkDelete", map[string]any{"JobName": "Everything", "QuerySet": []any{map[string]any{"EntityName": "account",
			"Criteria": map[string]any{"Conditions": []any{map[string]any{"AttributeName": "name", "Operator": "NotNull"}}}}}}), 200)
		job := r.json(t)["JobId"].(string)
		var st map[string]any
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			st = b.mustStatus(b.do("GET", "asyncoperations("+job+")?$select=statecode,statuscode,message", nil), 200).json(t)
			if st["statecode"] == float64(3) || time.Now().After(deadline) {
				break
			}
		}
		if st["statuscode"] != float64(30) || st["message"] != "2 records deleted." {
			t.Fatalf("job %v", st)
		}
		if n := strings.TrimSpace(string(b.mustStatus(b.do("GET", "accounts/$count", nil), 200).body)); n != "2" {
			t.Fatalf("%s accounts left, want the admin's 2", n)
		}
	})
}
