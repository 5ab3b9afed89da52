package webapi

import (
	"context"
	"strings"
	"testing"

	"junction/internal/auth"
	"junction/internal/changelog"
	"junction/internal/records"
	"junction/internal/store"
	"junction/internal/store/storetest"
)

// FuzzPlanFetchXML parses FetchXML and plans it against the built-in
// tables: no input may panic, and every value must stay a parameter.
func FuzzPlanFetchXML(f *testing.F) {
	f.Add(`<fetch count="2"><entity name="account"><attribute name="name"/><order attribute="name" descending="true"/><filter type="or"><condition attribute="name" operator="like" value="a%"/><condition attribute="industrycode" operator="in"><value>1</value><value>2</value></condition></filter><link-entity name="contact" from="contactid" to="primarycontactid" alias="pc"><filter><condition attribute="lastname" operator="eq" value="x"/></filter></link-entity></entity></fetch>`)
	f.Add(`<fetch><entity name="incident"><filter><condition attribute="createdon" operator="last-x-days" value="3"/><condition entityname="c" attribute="name" operator="not-null"/></filter><link-entity name="account" from="accountid" to="customerid" alias="c" link-type="outer"/></entity></fetch>`)
	s := storetest.Open(f, store.SQLite)
	ctx := context.Background()
	if err := s.Migrate(ctx, append(append(append([]store.Migration{}, auth.Migrations...), changelog.Migrations()...), records.Migrations()...)); err != nil {
		f.Fatal(err)
	}
	rec := records.New(records.Config{Store: s})
	if err := rec.Init(ctx, nil); err != nil {
		f.Fatal(err)
	}
	h := NewHandler(Config{Records: rec, Auth: auth.New(s, "k")})
	rq := &req{user: records.SystemUserID}
	f.Fuzz(func(t *testing.T, s string) {
		fx, err := ParseFetchXML(s)
		if err != nil {
			return
		}
		tb, ok := rec.Table(fx.Entity.Name)
		if !ok {
			return
		}
		p := &fetchPlan{comp: h.compiler(rq)}
		if err := h.planEntity(rq, p, tb, "t", &fx.Entity, map[string]fetchTarget{}); err != nil {
			return
		}
		text := strings.Join(p.joins, " ") + strings.Join(p.where, " ") + strings.Join(p.orders, " ")
		if n := strings.Count(text, "?"); n != len(p.wargs) {
			t.Fatalf("%d placeholders for %d arguments in %s", n, len(p.wargs), text)
		}
	})
}
