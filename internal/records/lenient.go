package records

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"junction/internal/store"
)

// LenientValue turns a value as files and other systems give it into column
// c's row form, through Convert: a string, int64, float64, bool, time.Time,
// a decimal's text, a GUID in braces or not, or a lookup as a Ref, a
// {"id", "logicalName"} object (the change log's shape) or its JSON text.
// Text around numbers, choices and dates is trimmed, and blank text is no
// value; Booleans also take yes/no, y/n, t/f and 1/0; choices also take their
// labels; any value is rendered as text for a text column; a bare id on a
// lookup with several targets is looked for in each target table (with q).
func (s *Service) LenientValue(ctx context.Context, q store.Querier, t *Table, c *Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok && !c.Type.IsText() {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		v = s
	}
	switch {
	case c.Type.IsLookup():
		r, err := s.lenientRef(ctx, q, t, c, v)
		if err != nil {
			return nil, err
		}
		v = r
	case c.Type.IsText():
		switch x := v.(type) {
		case string:
		case time.Time:
			v = x.UTC().Format(time.RFC3339Nano)
		case map[string]any, []any:
			b, _ := json.Marshal(x)
			v = string(b)
		default:
			v = text(x)
		}
	case c.Type == UniqueIdentifier:
		if s, ok := v.(string); ok {
			v = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		}
	case c.Type == Boolean:
		if s, ok := v.(string); ok {
			switch strings.ToLower(s) {
			case "true", "1", "yes", "y", "t":
				v = true
			case "false", "0", "no", "n", "f":
				v = false
			}
		} else if n, ok := v.(int64); ok && (n == 0 || n == 1) {
			v = n == 1
		}
	case c.Type == DateTime:
	default: // numbers and choices
		if s, ok := v.(string); ok {
			if c.Type.IsChoice() {
				for _, o := range c.Options {
					if strings.EqualFold(o.Label, s) {
						return o.Value, nil
					}
				}
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, Invalid("The value of %s on %s must be a number; got %q.", c.Name, t.Name, s)
			}
			v = json.Number(s)
			if !strings.ContainsAny(s, ".eE") {
				break
			}
			if c.Type == Integer || c.Type == BigInt || c.Type.IsChoice() {
				if f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
					return nil, Invalid("The value of %s on %s must be a whole number; got %q.", c.Name, t.Name, s)
				}
				v = int64(f)
			}
		}
	}
	return Convert(t, c, v)
}

// lenientRef reads a lookup value: a Ref, a {"id", "logicalName"} object (or
// its JSON text), or a bare GUID.
func (s *Service) lenientRef(ctx context.Context, q store.Querier, t *Table, c *Column, v any) (Ref, error) {
	switch x := v.(type) {
	case Ref:
		return x, nil
	case map[string]any:
		id, _ := x["id"].(string)
		table, _ := x["logicalName"].(string)
		if IsGUID(id) && table != "" {
			return Ref{Table: table, ID: strings.ToLower(id)}, nil
		}
	case string:
		if strings.HasPrefix(x, "{\"") {
			var m map[string]any
			if json.Unmarshal([]byte(x), &m) == nil {
				return s.lenientRef(ctx, q, t, c, m)
			}
		}
		id := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(x, "{"), "}"))
		if !IsGUID(id) {
			break
		}
		if len(c.Targets) == 1 {
			return Ref{Table: c.Targets[0], ID: id}, nil
		}
		for _, tg := range c.Targets {
			tt, ok := s.Table(tg)
			if !ok {
				continue
			}
			var n int
			err := q.QueryRow(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s = ?", Quote(tt.SQLName()), Quote(tt.PrimaryID())), id).Scan(&n)
			if err != nil {
				return Ref{}, err
			}
			if n > 0 {
				return Ref{Table: tg, ID: id}, nil
			}
		}
		return Ref{}, Invalid("No %s row has the id %s given for %s.", strings.Join(c.Targets, " or "), id, c.Name)
	}
	return Ref{}, Invalid("The value of the lookup %s on %s must be a row id (GUID); got %s.", c.Name, t.Name, strconv.Quote(text(v)))
}

// asGiven renders a stored value of column c in the notation of given, the
// value written for it, so that what was written and what is stored compare
// like with like: a lookup as the change log's {"id", "logicalName"} object
// or its JSON text, or as its id; a choice by the label given; other values
// as they are.
func asGiven(c *Column, v, given any) any {
	if label, ok := given.(string); ok && c != nil && c.Type.IsChoice() {
		for _, o := range c.Options {
			if o.Value == v && strings.EqualFold(o.Label, label) {
				return label
			}
		}
	}
	r, ok := v.(Ref)
	if !ok {
		return v
	}
	obj := map[string]any{"id": r.ID, "logicalName": r.Table}
	switch g := given.(type) {
	case map[string]any:
		return obj
	case string:
		if strings.HasPrefix(g, "{\"") {
			b, _ := json.Marshal(obj)
			return string(b)
		}
	}
	return r.ID
}

// Flat is a row value as flat data: a lookup becomes its id.
func Flat(v any) any {
	if r, ok := v.(Ref); ok {
		return r.ID
	}
	return v
}

// sameValue compares row-form values as the store keeps them: times to the
// microsecond, lookups by table and id (any case).
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.UnixMicro() == y.UnixMicro()
	case Ref:
		y, ok := b.(Ref)
		return ok && x.Table == y.Table && strings.EqualFold(x.ID, y.ID)
	}
	return a == b
}

// text renders a value given for a column in messages, as files write it:
// times in RFC 3339, nothing as empty text, the rest as fmt prints it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}
