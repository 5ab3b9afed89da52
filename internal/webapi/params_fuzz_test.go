package webapi

import (
	"encoding/json"
	"net/url"
	"testing"
)

// FuzzFunctionParams: function parameters and the alias values they name
// (literals, enum literals, JSON objects and lists) never panic, and BulkDelete
// criteria decode to a filter or an error.
func FuzzFunctionParams(f *testing.F) {
	f.Add("EntityMoniker=@p1,TargetEntityName=@p2,TargetFieldType=@p3", `{'@odata.id':'accounts(00000000-0000-4000-8000-000000000001)'}`)
	f.Add("EntityNames=@p1", `["account","contact"]`)
	f.Add("AccessType=@p1", `Microsoft.Dynamics.CRM.EndpointAccessType'Default'`)
	f.Add("A='x,y',B=[1,2],C=@p1", `null`)
	f.Add("Criteria=@p1", `{"FilterOperator":"Or","Conditions":[{"AttributeName":"name","Operator":"Like","Values":[{"Value":"a%","Type":"System.String"}]}],"Filters":[{"Conditions":[{"AttributeName":"x","Operator":"In","Values":[{"Value":1}]}]}]}`)
	f.Fuzz(func(t *testing.T, args, alias string) {
		params, err := functionParams(args, url.Values{"@p1": {alias}, "@p2": {alias}, "@p3": {alias}})
		if err != nil {
			return
		}
		for _, v := range params {
			data, err := json.Marshal(v)
			if err != nil {
				continue
			}
			var fe filterExpression
			if json.Unmarshal(data, &fe) == nil {
				filterExpr(fe, 0) // must not panic
			}
		}
	})
}
