package dataverse

import (
	"encoding/json"
	"testing"
)

// FuzzAttributeDefinition reads an attribute as EntityDefinitions answers
// it (labels, RequiredLevel, option sets local, global and Boolean), as
// TableDefinition does: whatever the input, reading never panics, and what
// reads keeps its name, its type and one option a listed option.
func FuzzAttributeDefinition(f *testing.F) {
	f.Add([]byte(`{"LogicalName":"sample_colors","AttributeType":"Picklist","AttributeTypeName":{"Value":"PicklistType"},"DefaultFormValue":-1,
		"DisplayName":{"LocalizedLabels":[{"Label":"Colors","LanguageCode":1033}],"UserLocalizedLabel":null},
		"OptionSet":{"Options":[{"Value":1,"Label":{"UserLocalizedLabel":{"Label":"Red"}}}]},"GlobalOptionSet":null}`))
	f.Add([]byte(`{"LogicalName":"c","AttributeType":"Picklist","OptionSet":null,"GlobalOptionSet":{"Name":"g","Options":[{"Value":2,"Label":null}]}}`))
	f.Add([]byte(`{"LogicalName":"b","AttributeType":"Boolean","OptionSet":{"TrueOption":{"Value":1,"Label":{"LocalizedLabels":[{"Label":"Yes","LanguageCode":1036}]}},"FalseOption":{"Value":0}}}`))
	f.Add([]byte(`{"LogicalName":"s","AttributeType":"Status","RequiredLevel":{"Value":"SystemRequired"},"OptionSet":{"Options":[{"Value":1,"State":0}]}}`))
	f.Add([]byte(`{"LogicalName":"m","AttributeType":"Money","MinValue":-922337203685477,"MaxValue":922337203685477,"Precision":2,"IsBaseCurrency":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a rawAttribute
		if json.Unmarshal(data, &a) != nil {
			return
		}
		d := a.definition()
		if d.LogicalName != a.LogicalName || d.AttributeType != a.AttributeType {
			t.Fatalf("%s read as %+v", data, d)
		}
		if d.DefaultFormValue != nil && *d.DefaultFormValue < 0 {
			t.Fatalf("%s: default %d kept", data, *d.DefaultFormValue)
		}
		for _, o := range d.Options {
			found := false
			for _, set := range []*rawOptionSet{a.OptionSet, a.GlobalOptionSet} {
				if set == nil {
					continue
				}
				for _, ro := range append(set.Options, deref(set.TrueOption), deref(set.FalseOption)) {
					found = found || ro.Value == o.Value
				}
			}
			if !found {
				t.Fatalf("%s: option %d comes from nowhere", data, o.Value)
			}
		}
	})
}

func deref(o *rawOption) rawOption {
	if o == nil {
		return rawOption{Value: -1 << 62}
	}
	return *o
}
