package webapi

import (
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

// registerSalesMessages adds QualifyLead, WinOpportunity and LoseOpportunity.
func (h *Handler) registerSalesMessages() {
	b := func(n string) odata.Param { return odata.Param{Name: n, Type: "Edm.Boolean"} }
	h.Register(&Action{Name: "QualifyLead", Bound: "lead", Response: "Collection(mscrm.crmbaseentity)", Entity: true,
		Params: []odata.Param{b("CreateAccount"), b("CreateContact"), b("CreateOpportunity"), {Name: "Status", Type: "Edm.Int32"},
			{Name: "OpportunityCustomerId", Type: "mscrm.crmbaseentity"}, {Name: "OpportunityCurrencyId", Type: "mscrm.transactioncurrency"}, {Name: "SourceCampaignId", Type: "mscrm.crmbaseentity"}},
		Run: h.qualifyLead})
	closeParams := []odata.Param{{Name: "OpportunityClose", Type: "mscrm.opportunityclose"}, {Name: "Status", Type: "Edm.Int32"}}
	h.Register(&Action{Name: "WinOpportunity", Params: closeParams, Run: func(c *Call) (map[string]any, error) { return h.closeOpportunity(c, 1, 3) }})
	h.Register(&Action{Name: "LoseOpportunity", Params: closeParams, Run: func(c *Call) (map[string]any, error) { return h.closeOpportunity(c, 2, 4) }})
}

// qualifyLead is POST leads(<id>)/Microsoft.Dynamics.CRM.QualifyLead
// {"CreateAccount": true, "CreateContact": true, "CreateOpportunity": true,
// "Status": 3}: it creates the account (named after the lead's company), the
// contact (under that account) and the opportunity (for the customer given
// as "OpportunityCustomerId@odata.bind", else the new account or contact),
// qualifies the lead, and answers the rows it created.
func (h *Handler) qualifyLead(c *Call) (map[string]any, error) {
	leadT, _ := c.Rec.Table("lead")
	lead, err := h.getRow(c.Ctx, c.Tx, c.rq, leadT, c.ID)
	if err != nil {
		return nil, err
	}
	if st, _ := lead["statecode"].(int64); st != 0 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The lead is already qualified or disqualified.")
	}
	status, err := intParam(c.Params, "Status")
	if err != nil {
		return nil, err
	}
	flag := func(n string) bool { v, _ := c.Params[n].(bool); return v }
	str := func(n string) string { s, _ := lead[n].(string); return s }
	var created []map[string]any
	add := func(t *records.Table, row records.Row) (string, error) {
		r, err := c.Rec.Create(c.Ctx, c.Tx, t, row, c.Caller)
		if err != nil {
			return "", err
		}
		id := r[t.PrimaryID()].(string)
		created = append(created, map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM." + t.Name, t.PrimaryID(): id})
		return id, nil
	}
	leadSet := records.Row{"statecode": int64(1)}
	if status != -1 {
		leadSet["statuscode"] = status
	}
	var account, contact string
	if flag("CreateAccount") {
		if str("companyname") == "" {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "An account cannot be created from a lead without a company name.")
		}
		accT, _ := c.Rec.Table("account")
		row := records.Row{"name": str("companyname")}
		for _, col := range []string{"emailaddress1", "telephone1"} {
			if v := str(col); v != "" {
				row[col] = v
			}
		}
		if account, err = add(accT, row); err != nil {
			return nil, err
		}
		leadSet["parentaccountid"] = records.Ref{Table: "account", ID: account}
	}
	if flag("CreateContact") {
		conT, _ := c.Rec.Table("contact")
		row := records.Row{}
		for _, col := range []string{"firstname", "lastname", "fullname", "emailaddress1", "telephone1"} {
			if v := str(col); v != "" {
				row[col] = v
			}
		}
		if row["lastname"] == nil {
			row["lastname"] = str("fullname")
		}
		if account != "" {
			row["parentcustomerid"] = records.Ref{Table: "account", ID: account}
		}
		if contact, err = add(conT, row); err != nil {
			return nil, err
		}
		leadSet["parentcontactid"] = records.Ref{Table: "contact", ID: contact}
	}
	if flag("CreateOpportunity") {
		oppT, _ := c.Rec.Table("opportunity")
		name := str("subject")
		if name == "" {
			name = str("fullname")
		}
		row := records.Row{"name": name, "originatingleadid": records.Ref{Table: "lead", ID: c.ID}}
		if v, ok := lead["estimatedvalue"].(float64); ok {
			row["estimatedvalue"] = v
		}
		var customer *records.Ref
		if s, ok := c.Params["OpportunityCustomerId@odata.bind"].(string); ok {
			ref, err := h.resolveBind(c.Ctx, c.Tx, c.rq, s)
			if err != nil {
				return nil, err
			}
			if ref.Table != "account" && ref.Table != "contact" {
				return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "OpportunityCustomerId must be an account or a contact.")
			}
			customer = &ref
		} else if account != "" {
			customer = &records.Ref{Table: "account", ID: account}
		} else if contact != "" {
			customer = &records.Ref{Table: "contact", ID: contact}
		}
		if customer != nil {
			row["customerid"] = *customer
		}
		if account != "" {
			row["parentaccountid"] = records.Ref{Table: "account", ID: account}
		}
		if contact != "" {
			row["parentcontactid"] = records.Ref{Table: "contact", ID: contact}
		}
		if _, err := add(oppT, row); err != nil {
			return nil, err
		}
	}
	if _, err := c.Rec.Update(c.Ctx, c.Tx, leadT, c.ID, leadSet, "", c.Caller); err != nil {
		return nil, err
	}
	if created == nil {
		created = []map[string]any{}
	}
	return map[string]any{"@odata.context": c.Base + "$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)", "value": created}, nil
}

// closeOpportunity is WinOpportunity and LoseOpportunity:
// {"OpportunityClose": {"subject": "...", "opportunityid@odata.bind":
// "/opportunities(<id>)", "actualrevenue": 5000}, "Status": 3}. It records
// the Opportunity Close and closes the opportunity as won (state 1) or lost
// (state 2) with Status, or the state's default status for -1.
func (h *Handler) closeOpportunity(c *Call, state, defaultStatus int64) (map[string]any, error) {
	body, ok := c.Params["OpportunityClose"].(map[string]any)
	if !ok {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "OpportunityClose is required.")
	}
	status, err := intParam(c.Params, "Status")
	if err != nil {
		return nil, err
	}
	if status == -1 {
		status = defaultStatus
	}
	closeT, _ := c.Rec.Table("opportunityclose")
	oppT, _ := c.Rec.Table("opportunity")
	row, later, err := h.toRow(c.Ctx, c.Tx, c.rq, closeT, body)
	if err != nil {
		return nil, err
	}
	ref, _ := row["opportunityid"].(records.Ref)
	if ref.ID == "" || len(later) > 0 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, `OpportunityClose must name its opportunity with "opportunityid@odata.bind": "/opportunities(<id>)".`)
	}
	opp, err := h.getRow(c.Ctx, c.Tx, c.rq, oppT, ref.ID)
	if err != nil {
		return nil, err
	}
	if st, _ := opp["statecode"].(int64); st != 0 {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The opportunity is already closed.")
	}
	if row["actualend"] == nil {
		row["actualend"] = h.now().UTC().Truncate(1e9)
	}
	if _, err := c.Rec.Create(c.Ctx, c.Tx, closeT, row, c.Caller); err != nil {
		return nil, err
	}
	set := records.Row{"statecode": state, "statuscode": status, "actualclosedate": row["actualend"]}
	if v, ok := row["actualrevenue"]; ok && v != nil && state == 1 {
		set["actualvalue"] = v
	}
	_, err = c.Rec.Update(c.Ctx, c.Tx, oppT, ref.ID, set, "", c.Caller)
	if err != nil && strings.Contains(err.Error(), "status code") {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%d is not a valid status for a %s opportunity.", status, map[int64]string{1: "won", 2: "lost"}[state])
	}
	return nil, err
}
