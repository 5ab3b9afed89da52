package workflow

import (
	"context"
	"strings"

	"junction/internal/expr"
)

// expressionKinds are Power Automate's built-in text function actions
// (type "Expression"): "Find text position" (IndexOf) and "Substring".
var expressionKinds = map[string]bool{"indexof": true, "substring": true}

// actExpression runs a Power Automate text function action; its outputs are
// {"body": result}.
func actExpression(_ context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	c.rec.Inputs = in
	m, _ := in.(map[string]any)
	text := []rune(expr.ToString(m["text"]))
	var out any
	switch strings.ToLower(c.a.Kind) {
	case "indexof":
		// Find text position: the position of the first occurrence of
		// searchText in text, counted in characters from 0; -1 when absent.
		search := expr.ToString(m["searchText"])
		i := strings.Index(string(text), search)
		if i >= 0 {
			i = len([]rune(string(text)[:i]))
		}
		out = int64(i)
	case "substring":
		// Substring: length characters from startingPosition; without a
		// length (or one past the end), the rest of the text.
		start, ok := wholeNumber(m["startingPosition"])
		if !ok || start < 0 || start > int64(len(text)) {
			return failf("InvalidTemplate", "The startingPosition %s of action '%s' is not a position in a text of %d characters", expr.ToString(m["startingPosition"]), c.name, len(text))
		}
		end := int64(len(text))
		if l, present := m["length"]; present && l != nil && expr.ToString(l) != "" {
			n, ok := wholeNumber(l)
			if !ok || n < 0 {
				return failf("InvalidTemplate", "The length %s of action '%s' is not a number of characters", expr.ToString(l), c.name)
			}
			end = min(start+n, end)
		}
		out = string(text[start:end])
	default:
		return failf("UnknownActionType", "the Expression kind '%s' is not supported (IndexOf and Substring are)", c.a.Kind)
	}
	c.rec.Outputs = map[string]any{"body": out}
	return nil
}

// wholeNumber reads an integer given as a number or a numeric string.
func wholeNumber(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	case string:
		n, err := expr.DecodeJSON([]byte(strings.TrimSpace(x)))
		if err == nil {
			if i, ok := n.(int64); ok {
				return i, true
			}
		}
	}
	return 0, false
}
