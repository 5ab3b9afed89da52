package webapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// calculateRollupField answers CalculateRollupField(Target=@p1,FieldName=@p2)
// ?@p1={'@odata.id':'accounts(<id>)'}&@p2='openrevenue': it calculates the
// rollup column now, stores it with its <name>_date and <name>_state, and
// answers the row with the three. As in Dataverse, the caller needs read
// access to the row only, and the aggregate covers every related row
// whatever the caller could read (rollups are calculated by the system). A
// result outside the column's range is not stored: the state says
// OverflowError.
func (h *Handler) calculateRollupField(c *Call) (map[string]any, error) {
	target, _ := c.Params["Target"].(map[string]any)
	ref, _ := target["@odata.id"].(string)
	if ref == "" {
		return nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "Target must be {'@odata.id':'<set>(<id>)'}.")
	}
	field := stringParam(c.Params, "FieldName")
	var out map[string]any
	err := h.write(c.rq, func(tx store.Tx) error {
		at, err := h.resolveBind(c.Ctx, tx, c.rq, ref)
		if err != nil {
			return err
		}
		t, _ := h.rec.Table(at.Table)
		col, ok := t.Column(field)
		if !ok || col.Rollup == nil {
			return records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "%q is not a rollup column of %s.", field, t.Name)
		}
		if _, err := h.getRow(c.Ctx, tx, c.rq, t, at.ID); err != nil {
			return err
		}
		v, state, err := h.rollupValue(c.Ctx, tx, t, col, at.ID)
		if err != nil {
			return err
		}
		row, err := h.rec.SetRollup(c.Ctx, tx, t, at.ID, col.Name, v, h.now(), state, records.Caller{UserID: records.SystemUserID, CorrelationID: c.Caller.CorrelationID})
		if err != nil {
			return err
		}
		shaped, err := h.shape(c.Ctx, tx, c.rq, t, []records.Row{row}, &odata.Query{Select: []string{col.Name, col.Name + "_date", col.Name + "_state"}})
		if err != nil {
			return err
		}
		out = shaped[0]
		out["@odata.context"] = c.Base + "$metadata#" + t.SetName + "/$entity"
		return nil
	})
	return out, err
}

// rollupValue aggregates the rows related to row id for rollup column col
// of t, and says whether the value fits the column.
func (h *Handler) rollupValue(ctx context.Context, q store.Querier, t *records.Table, col *records.Column, id string) (any, int64, error) {
	r := col.Rollup
	src, err := records.RollupSourceOf(h.rec.All(), t, col)
	if err != nil {
		return nil, 0, err
	}
	rel := src.Related
	expr := "COUNT(*)"
	if src.Column != nil {
		expr = r.Aggregate + "(r." + records.Quote(src.Column.Name) + ")"
	}
	var args []any
	var with, match string
	if src.Parent != nil {
		with = "WITH RECURSIVE h(id) AS (SELECT CAST(? AS TEXT) UNION SELECT c." + records.Quote(t.PrimaryID()) + " FROM " + records.Quote(t.SQLName()) +
			" c JOIN h ON c." + records.Quote(src.Parent.Name) + " = h.id) "
		match = "r." + records.Quote(src.Lookup.Name) + " IN (SELECT id FROM h)"
	} else {
		match = "r." + records.Quote(src.Lookup.Name) + " = ?"
	}
	args = append(args, id)
	where := []string{match}
	if r.Filter != "" {
		fe, err := odata.ParseFilter(r.Filter, nil)
		if err != nil {
			return nil, 0, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "rollup %s.%s: filter %q: %v", t.Name, col.Name, r.Filter, err)
		}
		comp := &odata.Compiler{Tables: h.rec.All(), Dialect: h.rec.Store().Dialect(), Now: h.now(), UserID: records.SystemUserID}
		f, err := comp.Filter(rel, "r", fe)
		if err != nil {
			return nil, 0, records.Errorf(http.StatusInternalServerError, records.CodeInternal, "rollup %s.%s: filter %q: %v", t.Name, col.Name, r.Filter, err)
		}
		where, args = append(where, f.SQL), append(args, f.Args...)
	}
	sqlText := with + "SELECT " + expr + " FROM " + records.Quote(rel.SQLName()) + " r WHERE " + strings.Join(where, " AND ")
	var raw any
	if err := q.QueryRow(ctx, sqlText, args...).Scan(&raw); err != nil {
		return nil, 0, fmt.Errorf("rollup %s.%s: %w", t.Name, col.Name, err)
	}
	if raw == nil {
		if r.Aggregate == "SUM" {
			raw = int64(0)
		} else {
			return nil, records.RollupCalculated, nil
		}
	}
	if col.Type == records.DateTime {
		return records.FromSQL(src.Column, raw), records.RollupCalculated, nil
	}
	var f float64
	switch x := raw.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	case []byte:
		fmt.Sscan(string(x), &f)
	case string:
		fmt.Sscan(x, &f)
	}
	if (col.Min != nil && f < *col.Min) || (col.Max != nil && f > *col.Max) {
		return nil, records.RollupOverflowError, nil
	}
	switch col.Type {
	case records.Integer, records.BigInt:
		return int64(math.Round(f)), records.RollupCalculated, nil
	}
	if col.Precision > 0 {
		p := math.Pow(10, float64(col.Precision))
		f = math.Round(f*p) / p
	}
	return f, records.RollupCalculated, nil
}
