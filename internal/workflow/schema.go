package workflow

import (
	"encoding/json"
	"errors"

	"fmt"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var english = message.NewPrinter(language.English)

var schemaCache sync.Map // canonical JSON -> *jsonschema.Schema

// schemaURL names the schema being compiled; it never appears in messages
// (errors name JSON paths inside the schema instead).
const schemaURL = "urn:junction:schema"

// SchemaProblem is one reason a JSON schema is refused, at a path inside the
// schema written the way definition paths are (properties.a.type).
type SchemaProblem struct {
	Path    string
	Message string
}

// SchemaProblems is every reason a JSON schema is refused.
type SchemaProblems []SchemaProblem

func (ps SchemaProblems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		if p.Path == "" {
			msgs[i] = p.Message
		} else {
			msgs[i] = p.Path + ": " + p.Message
		}
	}
	return strings.Join(msgs, "; ")
}

// compileSchema compiles a JSON Schema given as a decoded value, once per
// distinct schema. Schemas are read as Logic Apps reads them: draft-04 by
// default, and an empty "required" list (which Power Automate writes for
// every manual trigger, though draft-04 wants at least one name) is
// accepted. A refused schema gives SchemaProblems.
func compileSchema(s any) (*jsonschema.Schema, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	key := string(raw)
	if v, ok := schemaCache.Load(key); ok {
		return v.(*jsonschema.Schema), nil
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(key))
	if err != nil {
		return nil, SchemaProblems{{Message: err.Error()}}
	}
	doc = dropEmptyRequired(doc)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4) // Logic Apps schemas are draft-04 style
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, schemaError(err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, schemaError(err)
	}
	schemaCache.Store(key, sch)
	return sch, nil
}

// dropEmptyRequired removes "required": [] wherever it appears.
func dropEmptyRequired(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if arr, ok := x.([]any); ok && k == "required" && len(arr) == 0 {
				delete(v, k)
				continue
			}
			v[k] = dropEmptyRequired(x)
		}
	case []any:
		for i, x := range v {
			v[i] = dropEmptyRequired(x)
		}
	}
	return v
}

// schemaError turns the compiler's error into problems at paths inside the
// schema.
func schemaError(err error) error {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			var ps SchemaProblems
			var walk func(e *jsonschema.ValidationError)
			walk = func(e *jsonschema.ValidationError) {
				if len(e.Causes) == 0 {
					ps = append(ps, SchemaProblem{Path: strings.Join(e.InstanceLocation, "."), Message: e.ErrorKind.LocalizedString(english)})
					return
				}
				for _, c := range e.Causes {
					walk(c)
				}
			}
			walk(ve)
			return ps
		}
	}
	msg := strings.ReplaceAll(err.Error(), schemaURL+"#", "#")
	msg = strings.ReplaceAll(msg, schemaURL, "the schema")
	return SchemaProblems{{Message: msg}}
}

// validateSchema checks value against schema and returns a readable error.
func validateSchema(schema, value any) error {
	sch, err := compileSchema(schema)
	if err != nil {
		return fmt.Errorf("invalid JSON schema: %w", err)
	}
	// The validator wants float64/json.Number numbers; round-trip the value.
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	if err := sch.Validate(doc); err != nil {
		if ve, ok := err.(*jsonschema.ValidationError); ok {
			return fmt.Errorf("%s", flattenValidation(ve))
		}
		return err
	}
	return nil
}

func flattenValidation(ve *jsonschema.ValidationError) string {
	var msgs []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			msgs = append(msgs, fmt.Sprintf("%s: %s", loc, e.ErrorKind.LocalizedString(english)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(msgs, "; ")
}
