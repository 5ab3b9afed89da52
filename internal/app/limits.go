package app

import (
	"errors"

	"junction/internal/expr"
	"junction/internal/jsonvalue"
	"junction/internal/server"
	"junction/internal/webapi"
	"junction/internal/workflow"
)

// Limits bound what one request or one expression may make Junction hold in
// memory. Zero fields take the defaults; docs/security.md lists them with
// their flags.
type Limits struct {
	WebAPIMaxBody    int64 // --webapi-max-body: Web API request bodies, bytes
	WorkflowMaxBody  int64 // --workflow-max-body: workflow Request trigger bodies, bytes
	FunctionsMaxBody int64 // --functions-max-body: function HTTP trigger bodies, bytes
	JSONMaxDepth     int   // --json-max-depth: nesting of JSON bodies (Web API, workflow triggers)
	JSONMaxValues    int   // --json-max-values: values in one JSON body
	ExprMaxString    int   // --expression-max-string: concat, base64 and string results, characters
	ExprMaxResult    int   // --expression-max-result: results of the other growing functions
	XMLMaxDepth      int   // --xml-max-depth: nesting of XML given to xpath() and json()
}

// DefaultLimits are the limits of a Junction started without settings.
func DefaultLimits() Limits {
	return Limits{
		WebAPIMaxBody:    webapi.DefaultMaxBody,
		WorkflowMaxBody:  workflow.DefaultMaxBody,
		FunctionsMaxBody: server.DefaultMaxBody,
		JSONMaxDepth:     expr.DefaultJSONDepth,
		JSONMaxValues:    expr.DefaultJSONValues,
		ExprMaxString:    expr.DefaultMaxString,
		ExprMaxResult:    expr.DefaultMaxResult,
		XMLMaxDepth:      expr.DefaultMaxXMLDepth,
	}
}

// validate fills zero fields with the defaults and refuses negative ones,
// naming the flag.
func (l *Limits) validate() error {
	d := DefaultLimits()
	return errors.Join(
		orDefault("--webapi-max-body", &l.WebAPIMaxBody, d.WebAPIMaxBody),
		orDefault("--workflow-max-body", &l.WorkflowMaxBody, d.WorkflowMaxBody),
		orDefault("--functions-max-body", &l.FunctionsMaxBody, d.FunctionsMaxBody),
		orDefault("--json-max-depth", &l.JSONMaxDepth, d.JSONMaxDepth),
		orDefault("--json-max-values", &l.JSONMaxValues, d.JSONMaxValues),
		orDefault("--expression-max-string", &l.ExprMaxString, d.ExprMaxString),
		orDefault("--expression-max-result", &l.ExprMaxResult, d.ExprMaxResult),
		orDefault("--xml-max-depth", &l.XMLMaxDepth, d.XMLMaxDepth),
	)
}

// orDefault sets a zero limit to its default and refuses a negative one.
func orDefault[T int | int64](flag string, v *T, def T) error {
	if *v < 0 {
		return configErr(flag, "%d is negative; give a positive number, or 0 for the default of %d", *v, def)
	}
	if *v == 0 {
		*v = def
	}
	return nil
}

func (l Limits) json() jsonvalue.Limits {
	return jsonvalue.Limits{MaxDepth: l.JSONMaxDepth, MaxValues: l.JSONMaxValues}
}

func (l Limits) expr() expr.Limits {
	return expr.Limits{MaxString: l.ExprMaxString, MaxResult: l.ExprMaxResult, MaxXMLDepth: l.XMLMaxDepth, JSON: l.json()}
}
