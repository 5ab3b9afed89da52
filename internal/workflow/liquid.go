package workflow

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/osteele/liquid"

	"junction/internal/expr"
)

// Liquid transforms (Microsoft Learn, "Perform advanced JSON transformations
// with Liquid templates in Azure Logic Apps",
// logic-apps-enterprise-integration-liquid-transform): action type "Liquid",
// kind JsonToJson, JsonToText, XmlToJson or XmlToText; inputs.content is the
// input (XML kinds: an XML document, read as json(xml(...)) reads it) and
// inputs.map.name (Logic Apps Standard) or inputs.integrationAccount.map.name
// names a map of the project's Artifacts/Maps folder. The template sees the
// input as "content". Templates are written for DotLiquid: filters in
// sentence case (Append, Upcase, DividedBy) and forloop.Last; they are read
// as the Liquid names (append, upcase, divided_by, forloop.last).
var liquidKinds = map[string]bool{"jsontojson": true, "jsontotext": true, "xmltojson": true, "xmltotext": true}

// mapsFolder is where a Logic Apps Standard project keeps its maps.
const mapsFolder = "Artifacts/Maps"

var (
	liquidEngine    = liquid.NewEngine()
	liquidTemplates sync.Map // DotLiquid source -> *liquid.Template

	liquidRegion   = regexp.MustCompile(`(?s)\{\{.*?\}\}|\{%.*?%\}`)
	dotLiquidName  = regexp.MustCompile(`(\|\s*)([A-Z][A-Za-z0-9]*)`)
	dotLiquidLoop  = regexp.MustCompile(`\bforloop\.([A-Z][A-Za-z0-9]*)`)
	camelBoundary  = regexp.MustCompile(`([a-z0-9])([A-Z])`)
	liquidSnakeMap = func(s string) string { return strings.ToLower(camelBoundary.ReplaceAllString(s, "${1}_${2}")) }
)

// fromDotLiquid rewrites DotLiquid's C#-named filters and forloop members
// inside tags and outputs to their Liquid names.
func fromDotLiquid(src string) string {
	return liquidRegion.ReplaceAllStringFunc(src, func(region string) string {
		region = dotLiquidName.ReplaceAllStringFunc(region, func(m string) string {
			p := dotLiquidName.FindStringSubmatch(m)
			return p[1] + liquidSnakeMap(p[2])
		})
		return dotLiquidLoop.ReplaceAllStringFunc(region, func(m string) string {
			return "forloop." + liquidSnakeMap(dotLiquidLoop.FindStringSubmatch(m)[1])
		})
	})
}

// compileLiquid parses a map once.
func compileLiquid(src string) (*liquid.Template, error) {
	if t, ok := liquidTemplates.Load(src); ok {
		return t.(*liquid.Template), nil
	}
	t, err := liquidEngine.ParseString(fromDotLiquid(src))
	if err != nil {
		return nil, err
	}
	liquidTemplates.Store(src, t)
	return t, nil
}

// liquidMapName reads the map an action names.
func liquidMapName(in map[string]any) string {
	m, _ := in["map"].(map[string]any)
	if m == nil {
		ia, _ := in["integrationAccount"].(map[string]any)
		m, _ = ia["map"].(map[string]any)
	}
	name, _ := m["name"].(string)
	return name
}

// findMap looks a map up by file name, with or without its extension.
func findMap(maps map[string]string, name string) (string, bool) {
	if src, ok := maps[name]; ok {
		return src, true
	}
	for file, src := range maps {
		if strings.EqualFold(file, name) || strings.EqualFold(strings.TrimSuffix(file, path.Ext(file)), name) {
			return src, true
		}
	}
	return "", false
}

func actLiquid(_ context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	kind := strings.ToLower(c.a.Kind)
	name := liquidMapName(m)
	src, ok := findMap(c.rs.l.Maps, name)
	if !ok {
		return failf("MapNotFound", "The map '%s' of action '%s' is not in the project's %s folder", name, c.name, mapsFolder)
	}
	tpl, err := compileLiquid(src)
	if err != nil {
		return failf("InvalidLiquidTemplate", "The map '%s' is not a valid Liquid template: %v", name, err)
	}
	content := m["content"]
	if strings.HasPrefix(kind, "xml") {
		x, err := expr.XMLToJSON(expr.ToString(content))
		if err != nil {
			return failf("InvalidXml", "The content of action '%s' is not XML: %v", c.name, err)
		}
		content = xmlRoot(x)
	}
	out, err := tpl.RenderString(liquid.Bindings{"content": content})
	if err != nil {
		return failf("LiquidTransformFailed", "The map '%s' failed: %v", name, err)
	}
	if strings.HasSuffix(kind, "tojson") {
		v, err := expr.DecodeJSON([]byte(out))
		if err != nil {
			return failf("InvalidJsonOutput", "The map '%s' did not produce JSON (%v): %s", name, err, truncateStr(out, 200))
		}
		c.rec.Outputs = map[string]any{"body": v}
		return nil
	}
	c.rec.Outputs = map[string]any{"body": out}
	return nil
}

// checkLiquid validates a Liquid action: its kind, and its map when the
// project's maps are known.
func (v *validator) checkLiquid(a *Action, p string) {
	if !liquidKinds[strings.ToLower(a.Kind)] {
		v.add(p+".kind", "a Liquid action's kind is JsonToJson, JsonToText, XmlToJson or XmlToText, not %q", a.Kind)
	}
	in, _ := a.Inputs.(map[string]any)
	name := liquidMapName(in)
	if name == "" {
		v.add(p+".inputs.map.name", "a Liquid action needs inputs.map.name, a map of the %s folder", mapsFolder)
		return
	}
	if v.env.Maps == nil || expr.IsTemplate(name) {
		return
	}
	src, ok := findMap(v.env.Maps, name)
	if !ok {
		v.add(p+".inputs.map.name", "the map %q is not in the %s folder", name, mapsFolder)
		return
	}
	if _, err := compileLiquid(src); err != nil {
		v.add(p+".inputs.map.name", "%s", fmt.Sprintf("the map %q is not a valid Liquid template: %v", name, err))
	}
}

// xmlRoot is what an XML map sees as content: the root element's value (the
// XML declaration and processing instructions left out), as the templates
// of Microsoft's examples read it (content.firstName for
// <person><firstName>...).
func xmlRoot(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	var root any
	n := 0
	for k, x := range m {
		if strings.HasPrefix(k, "?") || strings.HasPrefix(k, "!") {
			continue
		}
		root = x
		n++
	}
	if n == 1 {
		return root
	}
	return v
}
