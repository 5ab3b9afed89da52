package dataverse

import (
	"context"
	"fmt"
	"strings"
)

// Ref names one row as a message parameter: its table's logical name and id.
// Key is the primary key column; empty means Table + "id", which holds for
// every table but the activities (activityid).
type Ref struct {
	Table, ID, Key string
}

// entity writes the reference as Dataverse reads an entity-typed parameter.
func (r Ref) entity() map[string]any {
	key := r.Key
	if key == "" {
		key = r.Table + "id"
	}
	return map[string]any{"@odata.type": "Microsoft.Dynamics.CRM." + r.Table, key: r.ID}
}

// RetrieveVersion returns the organization's version, e.g. 9.2.24113.000.
func (c *Client) RetrieveVersion(ctx context.Context) (string, error) {
	var out struct{ Version string }
	err := c.Function(ctx, "RetrieveVersion", nil, &out)
	return out.Version, err
}

// Merge merges the row subordinate into target (both of one table: account,
// contact, lead or incident): the subordinate's related rows move to the
// target, update's columns are written to the target, and the subordinate is
// deactivated. parentingChecks asks Dataverse to refuse a merge whose parent
// rows differ.
func (c *Client) Merge(ctx context.Context, target, subordinate Ref, update Record, parentingChecks bool) error {
	content := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM." + target.Table}
	for k, v := range update {
		content[k] = v
	}
	return c.Action(ctx, "", "", "Merge", map[string]any{"Target": target.entity(), "Subordinate": subordinate.entity(),
		"UpdateContent": content, "PerformParentingChecks": parentingChecks}, nil)
}

// QualifyLead asks what QualifyLead creates from a lead.
type QualifyLead struct {
	CreateAccount, CreateContact, CreateOpportunity bool
	Status                                          int // the lead's new status reason, 3 (Qualified) by default
}

// QualifyLead qualifies the lead id and returns the rows it created
// (account, contact, opportunity, as asked).
func (c *Client) QualifyLead(ctx context.Context, id string, q QualifyLead) ([]Ref, error) {
	if q.Status == 0 {
		q.Status = 3
	}
	var out struct{ Value []Record }
	err := c.Action(ctx, "leads", id, "Microsoft.Dynamics.CRM.QualifyLead", map[string]any{"CreateAccount": q.CreateAccount,
		"CreateContact": q.CreateContact, "CreateOpportunity": q.CreateOpportunity, "Status": q.Status}, &out)
	if err != nil {
		return nil, err
	}
	refs := make([]Ref, 0, len(out.Value))
	for _, e := range out.Value {
		table, _ := e["@odata.type"].(string)
		table = strings.TrimPrefix(table, "#Microsoft.Dynamics.CRM.")
		id, _ := e[table+"id"].(string)
		if table == "" || id == "" {
			return nil, fmt.Errorf("dataverse: QualifyLead answered a row without its type or id: %v", e)
		}
		refs = append(refs, Ref{Table: table, ID: id})
	}
	return refs, nil
}

// WinOpportunity closes the opportunity id as won, with close (the
// opportunityclose activity's columns, e.g. subject, actualrevenue,
// actualend) and status (a Won status reason, or -1 for the default).
func (c *Client) WinOpportunity(ctx context.Context, id string, close Record, status int) error {
	return c.closeOpportunity(ctx, "WinOpportunity", id, close, status)
}

// LoseOpportunity closes the opportunity id as lost; see WinOpportunity.
func (c *Client) LoseOpportunity(ctx context.Context, id string, close Record, status int) error {
	return c.closeOpportunity(ctx, "LoseOpportunity", id, close, status)
}

func (c *Client) closeOpportunity(ctx context.Context, action, id string, close Record, status int) error {
	return c.Action(ctx, "", "", action, map[string]any{"OpportunityClose": activity(close, "opportunityid@odata.bind", "/"+keyPath("opportunities", id)), "Status": status}, nil)
}

// CloseIncident resolves the case id with resolution (the incidentresolution
// activity's columns, e.g. subject, timespent) and status (a Resolved status
// reason, or -1 for the default).
func (c *Client) CloseIncident(ctx context.Context, id string, resolution Record, status int) error {
	return c.Action(ctx, "", "", "CloseIncident", map[string]any{"IncidentResolution": activity(resolution, "incidentid@odata.bind", "/"+keyPath("incidents", id)), "Status": status}, nil)
}

// activity copies cols and binds the activity to the row it closes.
func activity(cols Record, bind, path string) Record {
	out := Record{bind: path}
	for k, v := range cols {
		out[k] = v
	}
	return out
}

// GrantAccess shares the row target with principal (a systemuser or team),
// adding mask (e.g. "ReadAccess, WriteAccess") to what it has.
func (c *Client) GrantAccess(ctx context.Context, target, principal Ref, mask string) error {
	return c.share(ctx, "GrantAccess", target, principal, mask)
}

// ModifyAccess replaces what principal may do with the shared row target.
func (c *Client) ModifyAccess(ctx context.Context, target, principal Ref, mask string) error {
	return c.share(ctx, "ModifyAccess", target, principal, mask)
}

func (c *Client) share(ctx context.Context, action string, target, principal Ref, mask string) error {
	return c.Action(ctx, "", "", action, map[string]any{"Target": target.entity(),
		"PrincipalAccess": map[string]any{"Principal": principal.entity(), "AccessMask": mask}}, nil)
}

// RevokeAccess stops sharing the row target with revokee.
func (c *Client) RevokeAccess(ctx context.Context, target, revokee Ref) error {
	return c.Action(ctx, "", "", "RevokeAccess", map[string]any{"Target": target.entity(), "Revokee": revokee.entity()}, nil)
}

// SharedAccess is one principal a row is shared with, and what it may do.
type SharedAccess struct {
	Principal Ref
	Mask      string
}

// SharedPrincipals lists whom the row id of set is shared with.
func (c *Client) SharedPrincipals(ctx context.Context, set, id string) ([]SharedAccess, error) {
	var out struct {
		PrincipalAccesses []struct {
			AccessMask string
			Principal  Record
		}
	}
	err := c.Function(ctx, "RetrieveSharedPrincipalsAndAccess", map[string]any{"Target": map[string]any{"@odata.id": keyPath(set, id)}}, &out)
	if err != nil {
		return nil, err
	}
	shares := make([]SharedAccess, 0, len(out.PrincipalAccesses))
	for _, p := range out.PrincipalAccesses {
		table, _ := p.Principal["@odata.type"].(string)
		id, _ := p.Principal["ownerid"].(string)
		shares = append(shares, SharedAccess{Principal: Ref{Table: strings.TrimPrefix(table, "#Microsoft.Dynamics.CRM."), ID: id}, Mask: p.AccessMask})
	}
	return shares, nil
}
