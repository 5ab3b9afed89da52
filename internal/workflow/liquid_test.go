package workflow

import (
	"strings"
	"testing"
)

// Microsoft Learn, "Perform advanced JSON transformations with Liquid
// templates in Azure Logic Apps" (logic-apps-enterprise-integration-liquid-
// transform): its SimpleJsonToJsonTemplate (DotLiquid: sentence-case filters,
// forloop.Last) on the documented input, and the JSON-to-text and
// XML-to-text examples.
func TestLiquidTransforms(t *testing.T) {
	t.Parallel()
	maps := map[string]string{
		"SimpleJsonToJsonTemplate.liquid": `{%- assign deviceList = content.devices | Split: ', ' -%}

{
   "fullName": "{{content.firstName | Append: ' ' | Append: content.lastName}}",
   "firstNameUpperCase": "{{content.firstName | Upcase}}",
   "phoneAreaCode": "{{content.phone | Slice: 1, 3}}",
   "devices" : [
      {%- for device in deviceList -%}
         {%- if forloop.Last == true -%}
         "{{device}}"
         {%- else -%}
         "{{device}}",
         {%- endif -%}
     {%- endfor -%}
     ]
}`,
		"FullName.liquid": `{{content.firstName | Append: ' ' | Append: content.lastName}}`,
		"Broken.liquid":   `{% if content.x %}never closed`,
	}
	b := setup(t, nil)
	doc := def(`{
		"Json_to_json": {"type": "Liquid", "kind": "JsonToJson", "inputs": {"content": "@triggerBody()", "map": {"source": "LogicApp", "name": "SimpleJsonToJsonTemplate.liquid"}}},
		"Json_to_text": {"type": "Liquid", "kind": "JsonToText", "inputs": {"content": "@triggerBody()", "integrationAccount": {"map": {"name": "FullName"}}}},
		"Xml_to_text": {"type": "Liquid", "kind": "XmlToText", "inputs": {"content": "<?xml version=\"1.0\"?><person><firstName>Dean</firstName><lastName>Ledet</lastName></person>", "map": {"name": "FullName.liquid"}}}}`)
	f, err := ParseFile([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.e.Compile("liquid", f, Project{Maps: maps})
	if err != nil {
		t.Fatal(err)
	}
	r := b.run(t, l, map[string]any{"devices": "Surface, Mobile, Desktop computer, Monitors", "firstName": "Dean", "lastName": "Ledet", "phone": "(111)0001111"})
	want := map[string]string{
		"Json_to_json": `{"body":{"devices":["Surface","Mobile","Desktop computer","Monitors"],"firstNameUpperCase":"DEAN","fullName":"Dean Ledet","phoneAreaCode":"111"}}`,
		"Json_to_text": `{"body":"Dean Ledet"}`,
		"Xml_to_text":  `{"body":"Dean Ledet"}`,
	}
	for name, w := range want {
		if got := jsonOf(rec(r, name).Outputs); got != w {
			t.Errorf("%s: %s, want %s (%s)", name, got, w, jsonOf(rec(r, name).Error))
		}
	}
	// A missing map, a broken template and an unknown kind are refused at
	// deploy, at their paths.
	bad, _ := ParseFile([]byte(def(`{
		"A": {"type": "Liquid", "kind": "JsonToJson", "inputs": {"content": {}, "map": {"name": "Nowhere.liquid"}}},
		"B": {"type": "Liquid", "kind": "JsonToText", "inputs": {"content": {}, "map": {"name": "Broken.liquid"}}},
		"C": {"type": "Liquid", "kind": "JsonToCsv", "inputs": {"content": {}, "map": {"name": "FullName"}}}}`)))
	ps := Validate(bad.Definition, Environment{Maps: maps}).Error()
	for _, w := range []string{`definition.actions.A.inputs.map.name: the map "Nowhere.liquid" is not in the Artifacts/Maps folder`,
		`definition.actions.B.inputs.map.name: the map "Broken.liquid" is not a valid Liquid template`, `definition.actions.C.kind:`} {
		if !strings.Contains(ps, w) {
			t.Errorf("problems lack %q:\n%s", w, ps)
		}
	}
}
