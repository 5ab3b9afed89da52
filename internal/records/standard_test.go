package records_test

import (
	"fmt"
	"strings"
	"testing"

	"junction/internal/records"
)

// standardTables prepares the standard tables as Init does.
func standardTables(t *testing.T) map[string]*records.Table {
	t.Helper()
	defs := records.Builtin()
	known := map[string]bool{}
	for _, d := range defs {
		known[d.Name] = true
	}
	out := map[string]*records.Table{}
	for i := range defs {
		d := defs[i]
		if err := d.Prepare(func(n string) bool { return known[n] }); err != nil {
			t.Fatal(err)
		}
		out[d.Name] = &d
	}
	return out
}

func column(t *testing.T, tables map[string]*records.Table, table, name string) *records.Column {
	t.Helper()
	tb, ok := tables[table]
	if !ok {
		t.Fatalf("no table %s", table)
	}
	c, ok := tb.Column(name)
	if !ok {
		t.Fatalf("no column %s.%s", table, name)
	}
	return c
}

func options(c *records.Column) string {
	var s []string
	for _, o := range c.Options {
		x := fmt.Sprintf("%d %s", o.Value, o.Label)
		if o.State != nil {
			x += fmt.Sprintf(" (%d)", *o.State)
		}
		s = append(s, x)
	}
	return strings.Join(s, "; ")
}

// TestStandardTablesAsIssueLists checks that every table an org has, as the
// issue lists them, is among the standard tables, and that each description
// names the Microsoft page it comes from.
func TestStandardTablesAsIssueLists(t *testing.T) {
	t.Parallel()
	tables := standardTables(t)
	for _, n := range []string{"account", "contact", "lead", "opportunity", "opportunityproduct", "product", "pricelevel", "productpricelevel",
		"uom", "uomschedule", "transactioncurrency", "quote", "quotedetail", "salesorder", "salesorderdetail", "invoice", "invoicedetail", "incident",
		"activitypointer", "task", "phonecall", "email", "appointment", "activityparty", "annotation", "team", "systemuser", "businessunit",
		"organization", "role", "queue", "queueitem", "solution", "publisher", "savedquery", "userquery", "sdkmessage", "sdkmessagefilter",
		"sdkmessageprocessingstep", "sdkmessageprocessingstepimage", "serviceendpoint", "asyncoperation", "environmentvariabledefinition", "environmentvariablevalue"} {
		tb, ok := tables[n]
		if !ok {
			t.Errorf("table %s is missing", n)
			continue
		}
		if !strings.HasPrefix(tb.Source, "https://learn.microsoft.com/") || !strings.HasSuffix(tb.Source, "/"+n) {
			t.Errorf("table %s: source %q does not name its reference page", n, tb.Source)
		}
		if !records.IsStandard(n) {
			t.Errorf("IsStandard(%s) is false", n)
		}
	}
}

// TestStandardColumnsAsDocumented checks a sample of the descriptions
// against Microsoft's Dataverse table reference, page by page.
func TestStandardColumnsAsDocumented(t *testing.T) {
	t.Parallel()
	tables := standardTables(t)
	for _, tc := range []struct {
		doc, table, column string
		want               func(c *records.Column) bool
		what               string
	}{
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_AnnualIncome
		{"contact", "contact", "annualincome", func(c *records.Column) bool {
			return c.Type == records.Money && *c.Min == 0 && *c.Max == 100000000000000 && c.Precision == 2
		}, "Money, 0 to 100,000,000,000,000, precision 2"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_AnnualIncome_Base
		{"contact", "contact", "annualincome_base", func(c *records.Column) bool {
			return c.Type == records.Money && c.Precision == 4 && c.Computed == "base" && !c.Writable(true)
		}, "read-only Money, precision 4"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_FullName
		{"contact", "contact", "fullname", func(c *records.Column) bool {
			return c.Type == records.String && c.MaxLength == 160 && !c.Writable(true) && !c.Writable(false)
		}, "read-only String(160)"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_LastName
		{"contact", "contact", "lastname", func(c *records.Column) bool {
			return c.Type == records.String && c.MaxLength == 50 && c.Required == records.RequiredApp
		}, "String(50), ApplicationRequired"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_PreferredContactMethodCode
		{"contact", "contact", "preferredcontactmethodcode", func(c *records.Column) bool {
			return options(c) == "1 Any; 2 Email; 3 Phone; 4 Fax; 5 Mail"
		}, "choices Any, Email, Phone, Fax, Mail"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_Address1_Composite
		{"contact", "contact", "address1_composite", func(c *records.Column) bool {
			return c.Type == records.Memo && c.MaxLength == 1000 && c.Computed == "address1"
		}, "read-only Memo(1000)"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_StatusCode
		{"contact", "contact", "statuscode", func(c *records.Column) bool {
			return options(c) == "1 Active (0); 2 Inactive (1)"
		}, "Active in Active, Inactive in Inactive"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_Address1_Line1
		{"account", "account", "address1_line1", func(c *records.Column) bool {
			return c.Type == records.String && c.MaxLength == 250
		}, "String(250)"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_Address1_PostalCode
		{"account", "account", "address1_postalcode", func(c *records.Column) bool {
			return c.Type == records.String && c.MaxLength == 20
		}, "String(20)"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_CustomerTypeCode
		{"account", "account", "customertypecode", func(c *records.Column) bool {
			return options(c) == "1 Competitor; 2 Consultant; 3 Customer; 4 Investor; 5 Partner; 6 Influencer; 7 Press; 8 Prospect; 9 Reseller; 10 Supplier; 11 Vendor; 12 Other"
		}, "the twelve relationship types"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_Name
		{"account", "account", "name", func(c *records.Column) bool {
			return c.Type == records.String && c.MaxLength == 160 && c.Required == records.RequiredApp
		}, "String(160), ApplicationRequired"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_Revenue
		{"account", "account", "revenue", func(c *records.Column) bool { return c.Type == records.Money && c.Precision == 2 }, "Money"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_ExchangeRate
		{"account", "account", "exchangerate", func(c *records.Column) bool {
			return c.Type == records.Decimal && c.Precision == 12 && c.Computed == "exchangerate"
		}, "read-only Decimal, precision 12"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/systemuser#BKMK_IsDisabled
		{"systemuser", "systemuser", "isdisabled", func(c *records.Column) bool {
			return c.Type == records.Boolean && options(c) == "1 Disabled; 0 Enabled" && c.Default != nil && *c.Default == 0
		}, "Boolean Disabled/Enabled, default Enabled"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/systemuser#BKMK_AccessMode
		{"systemuser", "systemuser", "accessmode", func(c *records.Column) bool {
			return options(c) == "0 Read-Write; 1 Administrative; 2 Read; 3 Support User; 4 Non-interactive; 5 Delegated Admin"
		}, "the six access modes"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/systemuser#BKMK_DomainName
		{"systemuser", "systemuser", "domainname", func(c *records.Column) bool {
			return c.MaxLength == 1024 && c.Required == records.RequiredSystem
		}, "String(1024), SystemRequired"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/serviceendpoint#BKMK_Contract
		{"serviceendpoint", "serviceendpoint", "contract", func(c *records.Column) bool {
			l, ok := c.Option(8)
			return ok && l == "Webhook" && c.Required == records.RequiredSystem
		}, "8 Webhook, SystemRequired"},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/sdkmessageprocessingstep#BKMK_Stage
		{"sdkmessageprocessingstep", "sdkmessageprocessingstep", "stage", func(c *records.Column) bool {
			l10, _ := c.Option(10)
			l40, _ := c.Option(40)
			return l10 == "Pre-validation" && l40 == "Post-operation"
		}, "10 Pre-validation, 40 Post-operation"},
		// https://learn.microsoft.com/dynamics365/sales/developer/entities/invoice#BKMK_StatusCode
		{"invoice", "invoice", "statuscode", func(c *records.Column) bool {
			l, _ := c.Option(100003)
			return l == "Canceled" && *c.Options[len(c.Options)-1].State == 3
		}, "100003 Canceled in state 3"},
	} {
		c := column(t, tables, tc.table, tc.column)
		if !tc.want(c) {
			t.Errorf("%s.%s (reference page %s) should be %s; the description has %+v", tc.table, tc.column, tc.doc, tc.what, *c)
		}
	}
}

// TestStandardRelationshipsAsDocumented checks the relationships and cascade
// configurations of a sample of lookups against the reference.
func TestStandardRelationshipsAsDocumented(t *testing.T) {
	t.Parallel()
	tables := standardTables(t)
	for _, tc := range []struct {
		table, column, target, name string
		cascade                     records.Cascade
	}{
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_contact_customer_accounts
		{"contact", "parentcustomerid", "account", "contact_customer_accounts", records.Parental},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_contact_customer_contacts
		{"contact", "parentcustomerid", "contact", "contact_customer_contacts", records.Cascade{Assign: "Cascade", Delete: "RemoveLink", Merge: "Cascade", Reparent: "Cascade", Share: "Cascade", Unshare: "Cascade"}},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/contact#BKMK_account_primary_contact
		{"account", "primarycontactid", "contact", "account_primary_contact", records.Cascade{Assign: "NoCascade", Delete: "RemoveLink", Merge: "Cascade", Reparent: "NoCascade", Share: "NoCascade", Unshare: "NoCascade"}},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_account_parent_account
		{"account", "parentaccountid", "account", "account_parent_account", records.Cascade{Assign: "Cascade", Delete: "RemoveLink", Merge: "Cascade", Reparent: "Cascade", Share: "Cascade", Unshare: "Cascade"}},
		// https://learn.microsoft.com/power-apps/developer/data-platform/reference/entities/account#BKMK_Account_Tasks
		{"task", "regardingobjectid", "account", "Account_Tasks", records.Parental},
		// https://learn.microsoft.com/dynamics365/sales/developer/entities/account#BKMK_opportunity_customer_accounts
		{"opportunity", "customerid", "account", "opportunity_customer_accounts", records.Parental},
		// https://learn.microsoft.com/dynamics365/sales/developer/entities/opportunityproduct#BKMK_product_opportunities
		{"opportunityproduct", "opportunityid", "opportunity", "product_opportunities", records.Cascade{Assign: "NoCascade", Delete: "Cascade", Merge: "NoCascade", Reparent: "NoCascade", Share: "NoCascade", Unshare: "NoCascade"}},
		// https://learn.microsoft.com/dynamics365/sales/developer/entities/quotedetail#BKMK_quote_details
		{"quotedetail", "quoteid", "quote", "quote_details", records.Cascade{Assign: "Cascade", Delete: "Cascade", Merge: "NoCascade", Reparent: "NoCascade", Share: "Cascade", Unshare: "Cascade"}},
		// https://learn.microsoft.com/dynamics365/sales/developer/entities/product#BKMK_opportunity_products
		{"opportunityproduct", "productid", "product", "opportunity_products", records.RestrictDelete},
		// https://learn.microsoft.com/dynamics365/sales/developer/entities/uom#BKMK_unit_of_measurement_quote_details
		{"quotedetail", "uomid", "uom", "unit_of_measurement_quote_details", records.RestrictDelete},
		// https://learn.microsoft.com/dynamics365/sales/developer/entities/pricelevel#BKMK_price_level_product_price_levels
		{"productpricelevel", "pricelevelid", "pricelevel", "price_level_product_price_levels", records.RestrictDelete},
	} {
		c := column(t, tables, tc.table, tc.column)
		l, ok := c.Link(tc.target)
		if !ok {
			t.Errorf("%s.%s has no relationship to %s", tc.table, tc.column, tc.target)
			continue
		}
		if l.Name != tc.name {
			t.Errorf("%s.%s to %s is %s, want %s", tc.table, tc.column, tc.target, l.Name, tc.name)
		}
		if l.Cascade.Delete != tc.cascade.Delete || l.Cascade.Assign != tc.cascade.Assign || l.Cascade.Reparent != tc.cascade.Reparent ||
			l.Cascade.Share != tc.cascade.Share {
			t.Errorf("%s cascades %+v, want %+v", tc.name, l.Cascade, tc.cascade)
		}
	}
}
