package workflow

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"math"
	"strings"

	"junction/internal/expr"
)

func actCompose(_ context.Context, c *call) error {
	v, err := c.resolve(c.a.Inputs)
	c.rec.Inputs = v
	if err != nil {
		return err
	}
	c.rec.Outputs = v
	return nil
}

func actParseJSON(_ context.Context, c *call) error {
	in := c.inputs()
	content, err := c.resolve(in["content"])
	if err != nil {
		return err
	}
	c.rec.Inputs = map[string]any{"content": content, "schema": in["schema"]}
	if s, ok := content.(string); ok {
		v, err := expr.DecodeJSON([]byte(s))
		if err != nil {
			return failf("InvalidJSON", "The 'content' property of action '%s' is not valid JSON: %v", c.name, err)
		}
		content = v
	}
	if schema := in["schema"]; schema != nil {
		if err := validateSchema(schema, content); err != nil {
			c.rec.Outputs = map[string]any{"body": content}
			return failf("ValidationFailed", "The schema validation failed: %v", err)
		}
	}
	c.rec.Outputs = map[string]any{"body": content}
	return nil
}

func (c *call) fromArray(field string) ([]any, error) {
	v, err := c.resolve(c.inputs()[field])
	if err != nil {
		return nil, err
	}
	if v == nil {
		return []any{}, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, failf("InvalidTemplate", "The '%s' property of action '%s' must be an array, not %s", field, c.name, kindName(v))
	}
	return a, nil
}

func kindName(v any) string { return expr.KindOf(v).String() }

// perItem evaluates a template against each item (item() is the item).
func (c *call) perItem(tpl any, item any) (any, error) {
	out, err := c.rs.e.cache.Resolve(tpl, c.rs.scope(c.f).withItem(item))
	if err != nil {
		return nil, templateError(err)
	}
	return out, nil
}

func actQuery(_ context.Context, c *call) error {
	from, err := c.fromArray("from")
	if err != nil {
		return err
	}
	where := c.inputs()["where"]
	c.rec.Inputs = map[string]any{"from": from, "where": where}
	out := []any{}
	for _, item := range from {
		v, err := c.perItem(where, item)
		if err != nil {
			return err
		}
		ok, err := expr.Truthy(v)
		if err != nil {
			return failf("InvalidTemplate", "The 'where' expression of action '%s' must evaluate to a boolean", c.name)
		}
		if ok {
			out = append(out, item)
		}
	}
	c.rec.Outputs = map[string]any{"body": out}
	return nil
}

func actSelect(_ context.Context, c *call) error {
	from, err := c.fromArray("from")
	if err != nil {
		return err
	}
	sel := c.inputs()["select"]
	c.rec.Inputs = map[string]any{"from": from, "select": sel}
	out := make([]any, 0, len(from))
	for _, item := range from {
		v, err := c.perItem(sel, item)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	c.rec.Outputs = map[string]any{"body": out}
	return nil
}

func actJoin(_ context.Context, c *call) error {
	from, err := c.fromArray("from")
	if err != nil {
		return err
	}
	with, err := c.resolve(c.inputs()["joinWith"])
	if err != nil {
		return err
	}
	c.rec.Inputs = map[string]any{"from": from, "joinWith": with}
	parts := make([]string, len(from))
	for i, x := range from {
		parts[i] = expr.ToString(x)
	}
	c.rec.Outputs = map[string]any{"body": strings.Join(parts, expr.ToString(with))}
	return nil
}

func actTable(_ context.Context, c *call) error {
	from, err := c.fromArray("from")
	if err != nil {
		return err
	}
	format, err := c.resolve(c.inputs()["format"])
	if err != nil {
		return err
	}
	f := strings.ToUpper(expr.ToString(format))
	if f != "CSV" && f != "HTML" {
		return failf("InvalidTemplate", "The 'format' of action '%s' must be CSV or HTML", c.name)
	}
	type column struct {
		header string
		value  any
	}
	var cols []column
	if list, ok := c.inputs()["columns"].([]any); ok {
		for _, x := range list {
			m, _ := x.(map[string]any)
			h, err := c.resolve(m["header"])
			if err != nil {
				return err
			}
			cols = append(cols, column{header: expr.ToString(h), value: m["value"]})
		}
	} else if len(from) > 0 {
		first, _ := from[0].(map[string]any)
		for _, k := range sortedKeys(first) {
			cols = append(cols, column{header: k, value: fmt.Sprintf("@item()?['%s']", strings.ReplaceAll(k, "'", "''"))})
		}
	}
	rows := make([][]string, 0, len(from)+1)
	head := make([]string, len(cols))
	for i, col := range cols {
		head[i] = col.header
	}
	rows = append(rows, head)
	for _, item := range from {
		row := make([]string, len(cols))
		for i, col := range cols {
			v, err := c.perItem(col.value, item)
			if err != nil {
				return err
			}
			row[i] = expr.ToString(v)
		}
		rows = append(rows, row)
	}
	c.rec.Inputs = map[string]any{"from": from, "format": f}
	var b strings.Builder
	if f == "CSV" {
		w := csv.NewWriter(&b)
		w.UseCRLF = true
		_ = w.WriteAll(rows)
	} else {
		b.WriteString("<table><thead><tr>")
		for _, h := range rows[0] {
			b.WriteString("<th>" + html.EscapeString(h) + "</th>")
		}
		b.WriteString("</tr></thead><tbody>")
		for _, r := range rows[1:] {
			b.WriteString("<tr>")
			for _, v := range r {
				b.WriteString("<td>" + html.EscapeString(v) + "</td>")
			}
			b.WriteString("</tr>")
		}
		b.WriteString("</tbody></table>")
	}
	c.rec.Outputs = map[string]any{"body": b.String()}
	return nil
}

// actVariable runs the variable actions. The change and the action's record
// are persisted together under the run's variable lock, so concurrent loop
// iterations never lose an update and a resumed run never applies one twice.
func actVariable(_ context.Context, c *call) error {
	t := strings.ToLower(c.a.Type)
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	c.rec.Inputs = in
	m, _ := in.(map[string]any)
	rs := c.rs
	rs.varMu.Lock()
	defer rs.varMu.Unlock()
	next := copyMap(rs.vars)
	var changed []any
	if t == "initializevariable" {
		list, _ := m["variables"].([]any)
		for _, x := range list {
			vd, _ := x.(map[string]any)
			name, _ := vd["name"].(string)
			typ, _ := vd["type"].(string)
			val, err := coerceVariable(typ, vd["value"], true)
			if err != nil {
				return failf("InvalidVariableValue", "The variable '%s' of type %s: %v", name, typ, err)
			}
			next[strings.ToLower(name)] = val
			next["\x00type:"+strings.ToLower(name)] = strings.ToLower(typ)
			next["\x00name:"+strings.ToLower(name)] = name // as declared, for run details
			changed = append(changed, map[string]any{"name": name, "type": typ, "value": val})
		}
	} else {
		name, _ := m["name"].(string)
		key := strings.ToLower(name)
		cur, ok := next[key]
		if !ok {
			return failf("InvalidTemplate", "The variable '%s' is not initialized", name)
		}
		typ, _ := next["\x00type:"+key].(string)
		val, hasVal := m["value"]
		switch t {
		case "setvariable":
			v, err := coerceVariable(typ, val, false)
			if err != nil {
				return failf("InvalidVariableValue", "The variable '%s' of type %s cannot be set: %v", name, typ, err)
			}
			next[key] = v
		case "incrementvariable", "decrementvariable":
			if !hasVal || val == nil {
				val = int64(1)
			}
			sign := int64(1)
			if t == "decrementvariable" {
				sign = -1
			}
			switch x := cur.(type) {
			case int64:
				d, ok := val.(int64)
				if !ok {
					if f, isF := val.(float64); isF && f == math.Trunc(f) {
						d, ok = int64(f), true
					}
				}
				if !ok {
					return failf("InvalidVariableValue", "The variable '%s' is an integer; the value must be an integer", name)
				}
				next[key] = x + sign*d
			case float64:
				d, ok := toFloat(val)
				if !ok {
					return failf("InvalidVariableValue", "The value added to variable '%s' must be a number", name)
				}
				next[key] = x + float64(sign)*d
			default:
				return failf("InvalidVariableValue", "The variable '%s' is not a number", name)
			}
		case "appendtoarrayvariable":
			arr, ok := cur.([]any)
			if !ok {
				return failf("InvalidVariableValue", "The variable '%s' is not an array", name)
			}
			next[key] = append(append(make([]any, 0, len(arr)+1), arr...), val)
		case "appendtostringvariable":
			s, ok := cur.(string)
			if !ok {
				return failf("InvalidVariableValue", "The variable '%s' is not a string", name)
			}
			next[key] = s + expr.ToString(val)
		}
		changed = append(changed, map[string]any{"name": name, "value": next[key]})
	}
	c.rec.EndTime = rs.e.opt.Now().UTC()
	c.rec.Status, c.rec.Code = StatusSucceeded, "OK"
	if t == "initializevariable" {
		c.rec.Outputs = map[string]any{"body": map[string]any{"variables": changed}}
	} else {
		c.rec.Outputs = map[string]any{"body": changed[0]}
	}
	if err := rs.save(c.rec, publicVars(next)); err != nil {
		return err
	}
	rs.vars = next
	c.saved = true
	return nil
}

// publicVars keeps the type markers too: they are needed to resume.
func publicVars(m map[string]any) map[string]any { return m }

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func coerceVariable(typ string, v any, init bool) (any, error) {
	switch strings.ToLower(typ) {
	case "string":
		if v == nil {
			if init {
				return "", nil
			}
			return nil, nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("the value must be a string, not %s", kindName(v))
		}
		return s, nil
	case "integer", "int":
		if v == nil {
			return int64(0), nil
		}
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if x == math.Trunc(x) {
				return int64(x), nil
			}
		}
		return nil, fmt.Errorf("the value must be an integer, not %s", kindName(v))
	case "float":
		if v == nil {
			return float64(0), nil
		}
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("the value must be a number, not %s", kindName(v))
		}
		return f, nil
	case "boolean", "bool":
		if v == nil {
			return false, nil
		}
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("the value must be a boolean, not %s", kindName(v))
		}
		return b, nil
	case "array":
		if v == nil {
			return []any{}, nil
		}
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("the value must be an array, not %s", kindName(v))
		}
		return a, nil
	case "object":
		if v == nil {
			return map[string]any{}, nil
		}
		o, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the value must be an object, not %s", kindName(v))
		}
		return o, nil
	}
	return nil, fmt.Errorf("unknown variable type %q", typ)
}
