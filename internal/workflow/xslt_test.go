package workflow

import (
	"os"
	"strings"
	"testing"
)

// TestXslt follows Microsoft Learn "Transform XML in workflows with Azure
// Logic Apps" (logic-apps-enterprise-integration-transform): the Transform
// XML action (type Xslt) applies an XSLT 1.0 map from the Logic Apps Standard
// Artifacts/Maps folder to the content; the body is the transformed content.
func TestXslt(t *testing.T) {
	t.Parallel()
	if !xsltAvailable {
		if os.Getenv("CI") == "true" {
			t.Fatal("make test builds with -tags xslt (make deps installs libxslt1-dev)")
		}
		t.Skip("SKIPPING XSLT: built without -tags xslt")
	}
	maps := map[string]string{
		"OrderToInvoice.xslt": `<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:template match="/Order">
    <Invoice customer="{Customer}">
      <xsl:for-each select="Line">
        <xsl:sort select="@sku"/>
        <Item sku="{@sku}"><xsl:value-of select="@qty * @price"/></Item>
      </xsl:for-each>
      <Total><xsl:value-of select="sum(Line/@qty)"/></Total>
    </Invoice>
  </xsl:template>
</xsl:stylesheet>`,
		"Names.xsl": `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/"><xsl:for-each select="//name"><xsl:value-of select="translate(., 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"/><xsl:if test="position() != last()">,</xsl:if></xsl:for-each></xsl:template>
</xsl:stylesheet>`,
		"ReadsFile.xslt": `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:copy-of select="document('/etc/hostname')"/></xsl:template>
</xsl:stylesheet>`,
		"Echo.xslt": `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/">[<xsl:value-of select="."/>]</xsl:template>
</xsl:stylesheet>`,
	}
	b := setup(t, nil)
	order := `<?xml version="1.0"?><Order><Customer>Contoso</Customer><Line sku="B2" qty="2" price="5"/><Line sku="A1" qty="3" price="1.5"/></Order>`
	cases := []struct {
		name    string
		inputs  string
		content any
		status  string
		want    string // body, or the error code
	}{
		{"xml to xml", `{"content": "@triggerBody()?['doc']", "map": {"source": "LogicApp", "name": "OrderToInvoice"}}`, order, StatusSucceeded,
			`<Invoice customer="Contoso"><Item sku="A1">4.5</Item><Item sku="B2">10</Item><Total>5</Total></Invoice>`},
		{"text output, integration account form", `{"content": "@triggerBody()?['doc']", "integrationAccount": {"map": {"name": "Names.xsl"}}}`,
			`<people><name>ada</name><name>grace</name></people>`, StatusSucceeded, "ADA,GRACE"},
		{"content not xml", `{"content": "@triggerBody()?['doc']", "map": {"name": "Names"}}`, "not <xml", StatusFailed, "InvalidXml"},
		{"document() is refused", `{"content": "<a/>", "map": {"name": "ReadsFile"}}`, nil, StatusFailed, "XsltTransformFailed"},
		{"external entities are not read", `{"content": "@triggerBody()?['doc']", "map": {"name": "Echo"}}`,
			`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>x&x;y</a>`, StatusSucceeded, "[xy]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFile([]byte(def(`{"Transform_XML": {"type": "Xslt", "inputs": ` + tc.inputs + `}}`)))
			if err != nil {
				t.Fatal(err)
			}
			l, err := b.e.Compile("xslt", f, Project{Maps: maps})
			if err != nil {
				t.Fatal(err)
			}
			r := b.run(t, l, map[string]any{"doc": tc.content})
			got := rec(r, "Transform_XML")
			if got.Status != tc.status {
				t.Fatalf("status %s, want %s (%s)", got.Status, tc.status, jsonOf(got.Error))
			}
			if tc.status != StatusSucceeded {
				if em, _ := got.Error.(map[string]any); em["code"] != tc.want || strings.Contains(jsonOf(em), "\\n") || strings.Contains(jsonOf(em), "<nil>") {
					t.Errorf("error %s, want code %s", jsonOf(got.Error), tc.want)
				}
				return
			}
			outs, _ := got.Outputs.(map[string]any)
			if body, _ := outs["body"].(string); strings.TrimSpace(body) != tc.want {
				t.Errorf("body %q, want %q", body, tc.want)
			}
		})
	}
	// A missing map, a broken stylesheet and an include of a server file are
	// refused at deploy, at their paths.
	bad := map[string]string{
		"Broken.xslt":   `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><xsl:value-of/></xsl:template></xsl:stylesheet>`,
		"Includes.xslt": `<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:include href="file:///etc/passwd"/></xsl:stylesheet>`,
		"NotXml.xslt":   `<<<`,
	}
	f, _ := ParseFile([]byte(def(`{
		"A": {"type": "Xslt", "inputs": {"content": "<a/>", "map": {"name": "Nowhere"}}},
		"B": {"type": "Xslt", "inputs": {"content": "<a/>", "map": {"name": "Broken"}}},
		"C": {"type": "Xslt", "inputs": {"content": "<a/>", "map": {"name": "Includes.xslt"}}},
		"D": {"type": "Xslt", "inputs": {"content": "<a/>", "map": {"name": "NotXml"}}},
		"E": {"type": "Xslt", "inputs": {"content": "<a/>"}}}`)))
	ps := Validate(f.Definition, Environment{Maps: bad}).Error()
	for _, w := range []string{`definition.actions.A.inputs.map.name: the map "Nowhere" is not in the Artifacts/Maps folder`,
		`definition.actions.B.inputs.map.name: the map "Broken" is not a valid XSLT 1.0 stylesheet`,
		`definition.actions.C.inputs.map.name: the map "Includes.xslt" is not a valid XSLT 1.0 stylesheet`,
		`definition.actions.D.inputs.map.name: the map "NotXml" is not a valid XSLT 1.0 stylesheet`,
		`definition.actions.E.inputs.map.name: an Xslt action needs inputs.map.name`} {
		if !strings.Contains(ps, w) {
			t.Errorf("problems lack %q:\n%s", w, ps)
		}
	}
	if strings.Contains(ps, "root:") {
		t.Errorf("a problem shows a server file:\n%s", ps)
	}
}

func FuzzXslt(f *testing.F) {
	if !xsltAvailable {
		f.Skip("built without libxslt")
	}
	f.Add(`<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/"><b><xsl:value-of select="//a"/></b></xsl:template></xsl:stylesheet>`, "<a>1</a>")
	f.Add(`<<<`, "<a/>")
	f.Fuzz(func(t *testing.T, xsl, doc string) {
		if len(xsl) > 4096 || len(doc) > 4096 {
			return
		}
		_, _ = xsltTransform([]byte(xsl), []byte(doc))
	})
}
