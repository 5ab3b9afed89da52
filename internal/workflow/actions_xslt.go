package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"junction/internal/expr"
)

// xsltContentError: the content to transform is not XML.
type xsltContentError struct{ msg string }

func (e *xsltContentError) Error() string { return "the content is not XML: " + e.msg }

// findXsltMap finds an XSLT map of the Artifacts/Maps folder by its name,
// with or without its .xslt or .xsl extension.
func findXsltMap(maps map[string]string, name string) (string, bool) {
	for _, n := range []string{name, name + ".xslt", name + ".xsl"} {
		for file, src := range maps {
			if strings.EqualFold(file, n) {
				return src, true
			}
		}
	}
	return findMap(maps, name)
}

// actXslt runs Logic Apps' "Transform XML" action (type Xslt; Microsoft Learn
// "Transform XML in workflows with Azure Logic Apps", logic-apps-enterprise-
// integration-transform): the XSLT 1.0 map inputs.map.name (or
// inputs.integrationAccount.map.name), a file of the project's
// Artifacts/Maps folder, is applied to inputs.content; the outputs' body is
// the result as text, as the map's xsl:output writes it.
func actXslt(_ context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	name := liquidMapName(m)
	src, ok := findXsltMap(c.rs.l.Maps, name)
	if !ok {
		return failf("MapNotFound", "The map '%s' of action '%s' is not in the project's %s folder", name, c.name, mapsFolder)
	}
	var doc []byte
	switch v := m["content"].(type) {
	case string:
		doc = []byte(v)
	default:
		if _, b, ok := expr.AsBinary(v); ok {
			doc = b
		} else {
			doc = []byte(expr.ToString(v))
		}
	}
	out, err := xsltTransform([]byte(src), doc)
	var ce *xsltContentError
	if errors.As(err, &ce) {
		return failf("InvalidXml", "The content of action '%s' is not XML: %s", c.name, ce.msg)
	}
	if err != nil {
		return failf("XsltTransformFailed", "The map '%s' of action '%s' failed: %v", name, c.name, err)
	}
	c.rec.Outputs = map[string]any{"body": string(out)}
	return nil
}

// checkXslt refuses at deploy an Xslt action whose map is missing or is not
// an XSLT 1.0 stylesheet.
func (v *validator) checkXslt(a *Action, p string) {
	in, _ := a.Inputs.(map[string]any)
	name := liquidMapName(in)
	if name == "" {
		v.add(p+".inputs.map.name", "an Xslt action needs inputs.map.name, a map of the %s folder", mapsFolder)
		return
	}
	if !xsltAvailable {
		v.add(p+".type", "this Junction was built without XSLT (build it with -tags xslt, which needs cgo and libxslt1-dev): Xslt actions cannot run")
		return
	}
	if v.env.Maps == nil || expr.IsTemplate(name) {
		return
	}
	src, ok := findXsltMap(v.env.Maps, name)
	if !ok {
		v.add(p+".inputs.map.name", "the map %q is not in the %s folder", name, mapsFolder)
		return
	}
	if _, err := xsltTransform([]byte(src), nil); err != nil {
		v.add(p+".inputs.map.name", "%s", fmt.Sprintf("the map %q is not a valid XSLT 1.0 stylesheet: %v", name, err))
	}
}
