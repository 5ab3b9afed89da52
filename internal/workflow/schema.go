package workflow

import (
	"encoding/json"

	"fmt"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var english = message.NewPrinter(language.English)

var schemaCache sync.Map // canonical JSON -> *jsonschema.Schema

// compileSchema compiles a JSON Schema given as a decoded value, once per
// distinct schema.
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
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4) // Logic Apps schemas are draft-04 style
	if err := c.AddResource("schema.json", doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		return nil, err
	}
	schemaCache.Store(key, sch)
	return sch, nil
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
