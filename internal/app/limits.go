package app

import (
	"junction/internal/jsonvalue"
	"junction/internal/server"
	"junction/internal/webapi"
	"junction/internal/workflow"
	"junction/internal/workflow/expr"
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
		JSONMaxDepth:     128,
		JSONMaxValues:    1_000_000,
		ExprMaxString:    expr.DefaultMaxString,
		ExprMaxResult:    expr.DefaultMaxResult,
		XMLMaxDepth:      expr.DefaultMaxXMLDepth,
	}
}

// validate fills zero fields with the defaults and refuses negative ones,
// naming the flag.
func (l *Limits) validate() error {
	d := DefaultLimits()
	for _, f := range []struct {
		flag string
		v    *int64
		def  int64
	}{
		{"--webapi-max-body", &l.WebAPIMaxBody, d.WebAPIMaxBody},
		{"--workflow-max-body", &l.WorkflowMaxBody, d.WorkflowMaxBody},
		{"--functions-max-body", &l.FunctionsMaxBody, d.FunctionsMaxBody},
	} {
		if *f.v < 0 {
			return configErr(f.flag, "%d is negative; give a size in bytes, or 0 for the default of %d", *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		flag string
		v    *int
		def  int
	}{
		{"--json-max-depth", &l.JSONMaxDepth, d.JSONMaxDepth},
		{"--json-max-values", &l.JSONMaxValues, d.JSONMaxValues},
		{"--expression-max-string", &l.ExprMaxString, d.ExprMaxString},
		{"--expression-max-result", &l.ExprMaxResult, d.ExprMaxResult},
		{"--xml-max-depth", &l.XMLMaxDepth, d.XMLMaxDepth},
	} {
		if *f.v < 0 {
			return configErr(f.flag, "%d is negative; give a positive number, or 0 for the default of %d", *f.v, f.def)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return nil
}

func (l Limits) json() jsonvalue.Limits {
	return jsonvalue.Limits{MaxDepth: l.JSONMaxDepth, MaxValues: l.JSONMaxValues}
}

func (l Limits) expr() expr.Limits {
	return expr.Limits{MaxString: l.ExprMaxString, MaxResult: l.ExprMaxResult, MaxXMLDepth: l.XMLMaxDepth}
}
