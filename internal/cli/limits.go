package cli

import (
	"flag"

	"junction/internal/app"
)

// limitFlags registers the flags of app.Limits; zero keeps each default.
func limitFlags(fs *flag.FlagSet, l *app.Limits) {
	d := app.DefaultLimits()
	fs.Int64Var(&l.WebAPIMaxBody, "webapi-max-body", d.WebAPIMaxBody, "largest Web API request body, bytes")
	fs.Int64Var(&l.WorkflowMaxBody, "workflow-max-body", d.WorkflowMaxBody, "largest workflow Request trigger body, bytes")
	fs.Int64Var(&l.FunctionsMaxBody, "functions-max-body", d.FunctionsMaxBody, "largest function HTTP trigger body, bytes")
	fs.IntVar(&l.JSONMaxDepth, "json-max-depth", d.JSONMaxDepth, "deepest nesting of a JSON request body")
	fs.IntVar(&l.JSONMaxValues, "json-max-values", d.JSONMaxValues, "most values in one JSON request body")
	fs.IntVar(&l.ExprMaxString, "expression-max-string", d.ExprMaxString, "longest result of concat, base64 and string in expressions, characters")
	fs.IntVar(&l.ExprMaxResult, "expression-max-result", d.ExprMaxResult, "largest result of the other expression functions that build values")
	fs.IntVar(&l.XMLMaxDepth, "xml-max-depth", d.XMLMaxDepth, "deepest nesting of XML given to xpath() and json()")
}
