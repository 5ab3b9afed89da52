package webapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/solution"
	"junction/internal/store"
)

// registerImportSolution adds Dataverse's ImportSolution action: the
// exported solution zip in CustomizationFile (base64) creates the tables,
// columns, choices, keys and relationships its customizations.xml defines
// and records the solution (and its publisher) as rows, all in one
// transaction.
func (h *Handler) registerImportSolution() {
	b := func(n string) odata.Param { return odata.Param{Name: n, Type: "Edm.Boolean"} }
	h.Register(&Action{Name: "ImportSolution", NoTx: true,
		Params: []odata.Param{b("OverwriteUnmanagedCustomizations"), b("PublishWorkflows"), {Name: "CustomizationFile", Type: "Edm.Binary"},
			{Name: "ImportJobId", Type: "Edm.Guid"}, b("ConvertToManaged"), b("SkipProductUpdateDependencies"), b("HoldingSolution")},
		Run: h.importSolution})
}

// importSolution runs ImportSolution. It answers 204 as Dataverse does;
// with Prefer: return=representation it answers what the import did
// (Junction's own ImportSolutionResult, which `junction tables import`
// prints).
func (h *Handler) importSolution(c *Call) (map[string]any, error) {
	// An import creates tables, columns and relationships: it needs the
	// privileges each of those needs through the metadata API.
	for _, p := range []string{"prvCreateEntity", "prvCreateAttribute", "prvCreateRelationship"} {
		if err := h.needCustomization(c.rq, p); err != nil {
			return nil, err
		}
	}
	file, ok := c.Params["CustomizationFile"].(string)
	if !ok || file == "" {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "ImportSolution needs CustomizationFile: the solution zip, base64-encoded.")
	}
	for _, p := range []string{"OverwriteUnmanagedCustomizations", "PublishWorkflows", "ConvertToManaged", "SkipProductUpdateDependencies", "HoldingSolution"} {
		if v, ok := c.Params[p]; ok && v != nil {
			if _, isBool := v.(bool); !isBool {
				return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The parameter %s must be a Boolean.", p)
			}
		}
	}
	if id, ok := c.Params["ImportJobId"]; ok && id != nil {
		if s, _ := id.(string); !records.IsGUID(s) {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "ImportJobId must be a GUID.")
		}
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(file))
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(strings.TrimSpace(file)); err != nil {
			return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "CustomizationFile is not base64: %v", err)
		}
	}
	sol, err := solution.Read(data)
	if err != nil {
		return nil, importFailed(err)
	}
	res, err := h.rec.ImportSchema(c.Ctx, sol.Tables, func(ctx context.Context, tx store.Tx) error {
		return h.recordSolution(ctx, tx, sol, c.Caller)
	})
	if err != nil {
		return nil, importFailed(err)
	}
	if !c.rq.prefer.representation {
		return nil, nil
	}
	strs := func(xs []string) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = x
		}
		return out
	}
	return map[string]any{
		"@odata.context":     c.Base + "$metadata#Microsoft.Dynamics.CRM.ImportSolutionResult",
		"SolutionUniqueName": sol.UniqueName, "Version": sol.Version,
		"CreatedTables": strs(res.Created), "Added": strs(res.Added), "KeptColumns": res.Kept,
		"Skipped": strs(append(sol.Skipped, res.Skipped...)),
	}, nil
}

// importFailed words an import's failure as Dataverse does: the reason,
// and that nothing was imported.
func importFailed(err error) error {
	if errors.Is(err, solution.ErrInvalid) {
		return records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The import file is invalid (%s). Nothing was imported.",
			strings.TrimPrefix(err.Error(), solution.ErrInvalid.Error()+": "))
	}
	if e := records.AsError(err); e.Status/100 == 4 && !strings.Contains(e.Message, "Nothing was imported") {
		e2 := *e
		e2.Message = "Solution import failed: " + e.Message + " Nothing was imported."
		return &e2
	}
	return err
}

// recordSolution writes the solution row (keyed by its unique name) and its
// publisher's, unless one exists.
func (h *Handler) recordSolution(ctx context.Context, tx store.Tx, sol *solution.Solution, who records.Caller) error {
	pub, _ := h.rec.Table("publisher")
	st, _ := h.rec.Table("solution")
	if pub == nil || st == nil {
		return errors.New("the standard publisher and solution tables are missing")
	}
	p := sol.Publisher
	pubID, err := h.rec.FindByKey(ctx, tx, pub, map[string]any{"uniquename": p.UniqueName})
	if err != nil && records.AsError(err).Status == http.StatusNotFound {
		row := records.Row{"uniquename": p.UniqueName, "friendlyname": p.FriendlyName, "customizationprefix": p.Prefix}
		if p.OptionValuePrefix != 0 {
			row["customizationoptionvalueprefix"] = p.OptionValuePrefix
		}
		if p.Email != "" {
			row["emailaddress"] = p.Email
		}
		if p.Website != "" {
			row["supportingwebsiteurl"] = p.Website
		}
		created, err := h.rec.Create(ctx, tx, pub, row, who)
		if err != nil {
			return err
		}
		pubID = created[pub.PrimaryID()].(string)
	} else if err != nil {
		return err
	}
	values := records.Row{"friendlyname": sol.FriendlyName, "version": sol.Version, "publisherid": records.Ref{Table: "publisher", ID: pubID}}
	if sol.Description != "" {
		values["description"] = sol.Description
	}
	_, _, err = h.rec.Upsert(ctx, tx, st, map[string]any{"uniquename": sol.UniqueName}, values, who)
	return err
}
