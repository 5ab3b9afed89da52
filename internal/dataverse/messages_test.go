package dataverse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"junction/internal/dataverse"
	"junction/internal/store/storetest"
)

// TestClientMessagesAgainstJunction drives the aggregate, count and message
// calls of the client against Junction's Web API on both stores.
func TestClientMessagesAgainstJunction(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			c, _, org := newClient(t, d)
			ctx := context.Background()
			acc, err := c.Create(ctx, "accounts", dataverse.Record{"name": "Contoso", "revenue": 100})
			if err != nil {
				t.Fatal(err)
			}
			var recs []dataverse.Record
			for i := range 5 {
				recs = append(recs, dataverse.Record{"lastname": fmt.Sprintf("Kid %d", i), "creditlimit": 10 * (i + 1), "parentcustomerid_account@odata.bind": "accounts(" + acc + ")"})
			}
			if _, err := c.CreateMultiple(ctx, "contacts", "contact", recs); err != nil {
				t.Fatal(err)
			}
			rel := "accounts(" + acc + ")/contact_customer_accounts"
			if n, err := c.Count(ctx, rel, "creditlimit gt 20"); err != nil || n != 3 {
				t.Fatalf("count: %d %v", n, err)
			}
			groups, err := c.Aggregate(ctx, rel, "aggregate(creditlimit with sum as total,$count as n)")
			if err != nil || len(groups) != 1 || fmt.Sprint(groups[0]["total"]) != "150" || fmt.Sprint(groups[0]["n"]) != "5" {
				t.Fatalf("aggregate: %v %v", groups, err)
			}
			addr, err := c.FormatAddress(ctx, dataverse.Address{Line1: "123 Maple St.", City: "Seattle", StateOrProvince: "WA", PostalCode: "98007", Country: "USA"})
			if err != nil || addr != "123 Maple St.\r\nSeattle, WA 98007\r\nUSA" {
				t.Fatalf("FormatAddress: %q %v", addr, err)
			}
			counts, err := c.RetrieveTotalRecordCount(ctx, "account", "contact")
			if err != nil || counts["account"] != 1 || counts["contact"] != 5 {
				t.Fatalf("RetrieveTotalRecordCount: %v %v", counts, err)
			}
			init, err := c.InitializeFrom(ctx, "accounts", acc, "contact")
			if err != nil || init["parentcustomerid_account@odata.bind"] != "accounts("+acc+")" {
				t.Fatalf("InitializeFrom: %v %v", init, err)
			}
			if _, err := c.Create(ctx, "opportunities", dataverse.Record{"name": "Deal", "estimatedvalue": 250, "parentaccountid@odata.bind": "accounts(" + acc + ")"}); err != nil {
				t.Fatal(err)
			}
			rollup, err := c.CalculateRollupField(ctx, "accounts", acc, "openrevenue")
			if err != nil || fmt.Sprint(rollup["openrevenue"]) != "250" || fmt.Sprint(rollup["openrevenue_state"]) != "1" {
				t.Fatalf("CalculateRollupField: %v %v", rollup, err)
			}
			init["lastname"] = "From InitializeFrom"
			if _, err := c.Create(ctx, "contacts", init); err != nil {
				t.Fatalf("create from InitializeFrom: %v", err)
			}
			mq := map[string]any{"Criteria": map[string]any{"Conditions": []any{map[string]any{"PropertyName": "LogicalName", "ConditionOperator": "Equals",
				"Value": map[string]any{"Type": "System.String", "Value": "account"}}}}, "Properties": map[string]any{"PropertyNames": []string{"EntitySetName"}}}
			defs, stamp, err := c.MetadataChanges(ctx, mq, "")
			if err != nil || len(defs) != 1 || defs[0]["EntitySetName"] != "accounts" || stamp == "" {
				t.Fatalf("MetadataChanges: %v %q %v", defs, stamp, err)
			}
			if defs, _, err = c.MetadataChanges(ctx, mq, stamp); err != nil || len(defs) != 0 {
				t.Fatalf("MetadataChanges since %s: %v %v", stamp, defs, err)
			}
			org2, err := c.CurrentOrganization(ctx)
			if err != nil || org2.State != "Enabled" || len(org2.Endpoints.Values) != 3 || !strings.HasPrefix(org2.Endpoints.Values[0], org) {
				t.Fatalf("CurrentOrganization: %+v %v", org2, err)
			}
			job, err := c.BulkDelete(ctx, "Remove kids", dataverse.QueryExpression{EntityName: "contact", Criteria: dataverse.FilterExpression{
				FilterOperator: "Or", Conditions: []dataverse.Condition{{AttributeName: "lastname", Operator: "Like", Values: []any{"Kid%"}}, {AttributeName: "creditlimit", Operator: "GreaterThan", Values: []any{1000}}}}})
			if err != nil {
				t.Fatal(err)
			}
			var st dataverse.Job
			for deadline := time.Now().Add(time.Minute); !st.Done() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if st, err = c.Job(ctx, job); err != nil {
					t.Fatal(err)
				}
			}
			if st.StatusCode != 30 || st.Message != "5 records deleted." {
				t.Fatalf("job: %+v", st)
			}
			if n, err := c.Count(ctx, "contacts", ""); err != nil || n != 1 {
				t.Fatalf("after bulk delete: %d %v", n, err)
			}
		})
	}
}
