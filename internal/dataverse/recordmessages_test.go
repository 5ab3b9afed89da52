package dataverse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"junction/internal/app"
	"junction/internal/dataverse"
	"junction/internal/server"
	"junction/internal/store/storetest"
)

// TestClientRecordMessagesAgainstJunction drives the client's calls for the
// messages that change rows (RetrieveVersion, QualifyLead, WinOpportunity,
// LoseOpportunity, CloseIncident, Merge, GrantAccess, ModifyAccess,
// RevokeAccess, RetrieveSharedPrincipalsAndAccess) against Junction's Web
// API on both stores, with the parameters their Learn reference pages
// (Dataverse Web API Reference, Actions and Functions) give, and reads the
// rows afterwards to see that each call did what its page says.
func TestClientRecordMessagesAgainstJunction(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			a, org := startJunction(t, d)
			c, err := dataverse.New(dataverse.Config{URL: org, ClientID: "app-id", ClientSecret: "app-secret", TokenURL: newTokenServer(t, a.Keys(), org+"/.default").URL})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			read := func(set, id, sel string) dataverse.Record {
				t.Helper()
				rec, err := c.Retrieve(ctx, set, id, url.Values{"$select": {sel}})
				if err != nil {
					t.Fatalf("read %s(%s): %v", set, id, err)
				}
				return rec
			}
			create := func(set string, rec dataverse.Record) string {
				t.Helper()
				id, err := c.Create(ctx, set, rec)
				if err != nil {
					t.Fatalf("create %s: %v", set, err)
				}
				return id
			}

			if v, err := c.RetrieveVersion(ctx); err != nil || len(v) < 4 || v[:4] != "9.2." {
				t.Fatalf("RetrieveVersion: %q %v", v, err)
			}

			lead := create("leads", dataverse.Record{"subject": "Printers", "firstname": "Ada", "lastname": "Lovelace", "companyname": "Engines", "estimatedvalue": 5000})
			refs, err := c.QualifyLead(ctx, lead, dataverse.QualifyLead{CreateAccount: true, CreateContact: true, CreateOpportunity: true})
			if err != nil || len(refs) != 3 {
				t.Fatalf("QualifyLead: %v %v", refs, err)
			}
			ids := map[string]string{}
			for _, r := range refs {
				ids[r.Table] = r.ID
			}
			if l := read("leads", lead, "statecode,statuscode"); fmt.Sprintf("%v %v", l["statecode"], l["statuscode"]) != "1 3" {
				t.Fatalf("qualified lead: %v", l)
			}
			if _, err := c.QualifyLead(ctx, lead, dataverse.QualifyLead{CreateAccount: true}); err == nil {
				t.Fatal("a lead qualified twice")
			}
			if err := c.WinOpportunity(ctx, ids["opportunity"], dataverse.Record{"subject": "Won", "actualrevenue": 4500}, -1); err != nil {
				t.Fatalf("WinOpportunity: %v", err)
			}
			if o := read("opportunities", ids["opportunity"], "statecode,actualvalue"); fmt.Sprintf("%v %v", o["statecode"], o["actualvalue"]) != "1 4500" {
				t.Fatalf("won opportunity: %v", o)
			}
			lost := create("opportunities", dataverse.Record{"name": "Another"})
			if err := c.LoseOpportunity(ctx, lost, dataverse.Record{"subject": "Lost"}, -1); err != nil {
				t.Fatalf("LoseOpportunity: %v", err)
			}
			if o := read("opportunities", lost, "statecode,statuscode"); fmt.Sprintf("%v %v", o["statecode"], o["statuscode"]) != "2 4" {
				t.Fatalf("lost opportunity: %v", o)
			}

			sub := create("accounts", dataverse.Record{"name": "Engines Ltd"})
			inc := create("incidents", dataverse.Record{"title": "Broken", "customerid_account@odata.bind": "/accounts(" + sub + ")"})
			if err := c.CloseIncident(ctx, inc, dataverse.Record{"subject": "Fixed", "timespent": 30}, -1); err != nil {
				t.Fatalf("CloseIncident: %v", err)
			}
			if i := read("incidents", inc, "statecode,statuscode"); fmt.Sprintf("%v %v", i["statecode"], i["statuscode"]) != "1 5" {
				t.Fatalf("resolved case: %v", i)
			}
			target := dataverse.Ref{Table: "account", ID: ids["account"]}
			if err := c.Merge(ctx, target, dataverse.Ref{Table: "account", ID: sub}, dataverse.Record{"telephone1": "555-0100"}, false); err != nil {
				t.Fatalf("Merge: %v", err)
			}
			if i := read("incidents", inc, "_customerid_value"); i["_customerid_value"] != ids["account"] {
				t.Fatalf("case after merge: %v", i)
			}
			if a := read("accounts", ids["account"], "telephone1"); a["telephone1"] != "555-0100" {
				t.Fatalf("target after merge: %v", a)
			}
			if err := c.Merge(ctx, target, dataverse.Ref{Table: "account", ID: sub}, nil, false); err == nil {
				t.Fatal("a row merged twice")
			}

			bob := dataverse.Ref{Table: "systemuser", ID: keyUser(t, a, org, "bob")}
			if err := c.GrantAccess(ctx, target, bob, "ReadAccess"); err != nil {
				t.Fatalf("GrantAccess: %v", err)
			}
			if err := c.GrantAccess(ctx, target, bob, "WriteAccess"); err != nil {
				t.Fatalf("GrantAccess: %v", err)
			}
			shares, err := c.SharedPrincipals(ctx, "accounts", ids["account"])
			if err != nil || len(shares) != 1 || shares[0].Principal != bob || shares[0].Mask != "ReadAccess, WriteAccess" {
				t.Fatalf("shared after GrantAccess: %+v %v", shares, err)
			}
			if err := c.ModifyAccess(ctx, target, bob, "ReadAccess"); err != nil {
				t.Fatalf("ModifyAccess: %v", err)
			}
			if shares, err = c.SharedPrincipals(ctx, "accounts", ids["account"]); err != nil || len(shares) != 1 || shares[0].Mask != "ReadAccess" {
				t.Fatalf("shared after ModifyAccess: %+v %v", shares, err)
			}
			if err := c.GrantAccess(ctx, target, bob, "EverythingAccess"); err == nil {
				t.Fatal("an unknown access right was granted")
			}
			if err := c.RevokeAccess(ctx, target, bob); err != nil {
				t.Fatalf("RevokeAccess: %v", err)
			}
			if shares, err = c.SharedPrincipals(ctx, "accounts", ids["account"]); err != nil || len(shares) != 0 {
				t.Fatalf("shared after RevokeAccess: %+v %v", shares, err)
			}
		})
	}
}

// keyUser creates a listener key named name and returns the systemuser it
// acts as, as its WhoAmI answers.
func keyUser(t *testing.T, a *app.App, org, name string) string {
	t.Helper()
	_, secret, err := a.Keys().Create(context.Background(), name, server.RoleListener)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(org, "/")+"/api/data/v9.2/WhoAmI", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var who struct{ UserId string }
	if err := json.NewDecoder(resp.Body).Decode(&who); err != nil || who.UserId == "" {
		t.Fatalf("WhoAmI as %s: %d %v", name, resp.StatusCode, err)
	}
	return who.UserId
}
