package expr

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
)

// toXML converts a JSON string or object with one root property to XML, as
// the xml() function does (properties starting with "@" become attributes,
// "#text" the text).
func toXML(v any) (any, error) {
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "<") {
			return t, nil
		}
		d, err := DecodeJSON([]byte(s))
		if err != nil {
			return nil, errf("the template language function 'xml' parameter is not valid: %v", err)
		}
		v = d
	}
	o, ok := v.(map[string]any)
	if !ok || len(o) != 1 {
		return nil, errf("the template language function 'xml' expects an object with exactly one root property")
	}
	var b strings.Builder
	for k, x := range o {
		writeXML(&b, k, x)
	}
	return b.String(), nil
}

func writeXML(b *strings.Builder, name string, v any) {
	if a, ok := v.([]any); ok {
		for _, x := range a {
			writeXML(b, name, x)
		}
		return
	}
	b.WriteString("<" + name)
	o, isObj := v.(map[string]any)
	var children []string
	if isObj {
		for _, k := range keys(o) {
			if strings.HasPrefix(k, "@") {
				fmt.Fprintf(b, " %s=\"%s\"", k[1:], escapeXML(ToString(o[k])))
			} else {
				children = append(children, k)
			}
		}
	}
	if v == nil || (isObj && len(children) == 0) {
		b.WriteString(" />")
		return
	}
	b.WriteString(">")
	if isObj {
		for _, k := range children {
			if k == "#text" {
				b.WriteString(escapeXML(ToString(o[k])))
				continue
			}
			writeXML(b, k, o[k])
		}
	} else {
		b.WriteString(escapeXML(ToString(v)))
	}
	b.WriteString("</" + name + ">")
}

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// xmlToJSON converts XML to JSON the way json(xml) does: elements become
// properties, attributes "@name", mixed text "#text", repeated elements arrays.
func xmlToJSON(s string, lim Limits) (any, error) {
	if err := checkXMLDepth(s, lim.MaxXMLDepth); err != nil {
		return nil, errf("the template language function 'json' cannot parse the XML: it is nested deeper than %d elements", lim.MaxXMLDepth)
	}
	doc, err := xmlquery.Parse(strings.NewReader(s))
	if err != nil {
		return nil, errf("the template language function 'json' cannot parse the XML: %v", err)
	}
	out := map[string]any{}
	for n := doc.FirstChild; n != nil; n = n.NextSibling {
		switch n.Type {
		case xmlquery.ElementNode:
			addChild(out, qname(n), elementValue(n))
		case xmlquery.DeclarationNode:
			if !strings.HasPrefix(s, "<?xml") {
				continue
			}
			decl := map[string]any{}
			for _, a := range n.Attr {
				decl["@"+a.Name.Local] = a.Value
			}
			out["?xml"] = decl
		}
	}
	return out, nil
}

func qname(n *xmlquery.Node) string {
	if n.Prefix != "" {
		return n.Prefix + ":" + n.Data
	}
	return n.Data
}

func addChild(o map[string]any, k string, v any) {
	if prev, ok := o[k]; ok {
		if a, ok := prev.([]any); ok {
			o[k] = append(a, v)
		} else {
			o[k] = []any{prev, v}
		}
		return
	}
	o[k] = v
}

func elementValue(n *xmlquery.Node) any {
	o := map[string]any{}
	for _, a := range n.Attr {
		name := a.Name.Local
		if a.Name.Space != "" {
			name = a.Name.Space + ":" + name
		}
		o["@"+name] = a.Value
	}
	var text strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case xmlquery.ElementNode:
			addChild(o, qname(c), elementValue(c))
		case xmlquery.TextNode, xmlquery.CharDataNode:
			text.WriteString(c.Data)
		}
	}
	t := strings.TrimSpace(text.String())
	if len(o) == 0 {
		if t == "" {
			return nil
		}
		return t
	}
	if t != "" {
		o["#text"] = t
	}
	return o
}

// xpathEval runs an XPath 1.0 expression: node sets give an array of XML
// strings (or text values for text and attribute nodes), other results their
// value.
func xpathEval(doc, q string, lim Limits) (any, error) {
	if err := checkXMLDepth(doc, lim.MaxXMLDepth); err != nil {
		return nil, errf("the template language function 'xpath' cannot parse the XML: it is nested deeper than %d elements", lim.MaxXMLDepth)
	}
	root, err := xmlquery.Parse(strings.NewReader(doc))
	if err != nil {
		return nil, errf("the template language function 'xpath' cannot parse the XML: %v", err)
	}
	e, err := xpath.Compile(q)
	if err != nil {
		return nil, errf("the template language function 'xpath' expression '%s' is not valid: %v", q, err)
	}
	switch r := e.Evaluate(xmlquery.CreateXPathNavigator(root)).(type) {
	case *xpath.NodeIterator:
		out := []any{}
		size := 0
		for r.MoveNext() {
			n := r.Current().(*xmlquery.NodeNavigator).Current()
			var s string
			switch n.Type {
			case xmlquery.TextNode, xmlquery.CharDataNode:
				s = n.Data
			case xmlquery.AttributeNode:
				s = n.InnerText()
			default:
				s = n.OutputXML(true)
			}
			// Each node of a node set is written out with its subtree, so
			// a set of nested nodes grows with the square of the document.
			if size += len(s) + 1; size > lim.MaxResult {
				return nil, errf("the template language function 'xpath' would produce a result of %d characters or more, over the limit of %d", size, lim.MaxResult)
			}
			out = append(out, s)
		}
		return out, nil
	case float64:
		if r == float64(int64(r)) {
			return int64(r), nil
		}
		return r, nil
	case string, bool:
		return r, nil
	}
	return nil, nil
}

// XMLToJSON converts an XML document to the JSON shape json(xml(...)) gives,
// refusing XML nested deeper than the default MaxXMLDepth.
func XMLToJSON(s string) (any, error) { return xmlToJSON(s, Limits{}.WithDefaults()) }
