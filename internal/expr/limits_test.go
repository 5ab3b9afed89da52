package expr

import (
	"runtime"
	"strings"
	"testing"

	"junction/internal/jsonvalue"
)

// limitedScope is testScope with limits of its own.
type limitedScope struct {
	testScope
	limits Limits
}

func (s limitedScope) ExprLimits() Limits { return s.limits }

func evalLimited(t *testing.T, src string, lim Limits, vars map[string]any) (any, error) {
	t.Helper()
	tpl, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return tpl.Evaluate(limitedScope{testScope{vars: vars}, lim})
}

func nestedReplace(depth int) string {
	e := "variables('s')"
	for range depth {
		e = "replace(" + e + ", 'x', 'xxxxxxxxxx')"
	}
	return "@" + e
}

// TestResultLimits: results of functions that can grow past their arguments
// are capped, with an error naming the function. The default for concat,
// base64 and string is Logic Apps' expression evaluation limit of 131,072
// characters ("Limits and configuration reference for Azure Logic Apps",
// learn.microsoft.com/azure/logic-apps/logic-apps-limits-and-config).
func TestResultLimits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100000)
	shared := make([]any, 200)
	for i := range shared {
		shared[i] = big
	}
	vars := map[string]any{"s": "x", "big": big, "shared": shared, "deep": strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000),
		"wide": "<r>" + strings.Repeat("<a><b><c>text</c></b></a>", 2000) + "</r>"}
	tests := []struct {
		name, src string
		lim       Limits
		fn        string // the function the error names; empty: no error
	}{
		// The finding: eight nested replace calls built 10^8 characters.
		{"nested replace", nestedReplace(8), Limits{}, "replace"},
		{"nested replace within the limit", nestedReplace(3), Limits{}, ""},
		{"concat over 131072", "@concat(variables('big'), variables('big'))", Limits{}, "concat"},
		{"concat within", "@concat(variables('big'), 'y')", Limits{}, ""},
		{"base64 over 131072", "@base64(variables('big'))", Limits{}, "base64"},
		{"string of shared strings", "@string(variables('shared'))", Limits{}, "string"},
		{"join of shared strings", "@join(variables('shared'), ',')", Limits{MaxResult: 1 << 20}, "join"},
		{"union capped by count", "@union(range(0, 200), range(200, 200))", Limits{MaxResult: 100}, "union"},
		{"xpath of deep XML", "@xpath(variables('deep'), '//a')", Limits{}, "xpath"},
		{"json of deep XML", "@json(variables('deep'))", Limits{}, "json"},
		{"xpath nodes within depth", "@xpath(variables('wide'), 'count(//c)')", Limits{}, ""},
		{"xpath output over the limit", "@xpath(variables('wide'), '//a')", Limits{MaxResult: 10000}, "xpath"},
		{"configured string limit", "@concat(variables('s'), 'abcdef')", Limits{MaxString: 5}, "concat"},
		{"json of too many values", "@json(concat('[', join(range(0, 2000), ','), ']'))", Limits{JSON: jsonvalue.Limits{MaxValues: 1000}}, "json"},
		{"json within the bounds", "@json('[1,2,3]')", Limits{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := evalLimited(t, tc.src, tc.lim, vars)
			if tc.fn == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; result of %d characters", sizeOf(v, 1<<40))
			}
			if !strings.Contains(err.Error(), "function '"+tc.fn+"'") {
				t.Fatalf("error %q does not name %s", err, tc.fn)
			}
		})
	}
}

// TestXPathAllocation: 28 MB of deeply nested XML through xpath() took
// 1.54 GB, because every node of a node set is written out with its
// subtree. Deep XML is now refused before it is parsed, and the text of a
// node set stops at the result limit; measured as bytes allocated, which is
// deterministic (not parallel: the measure is of the whole process). Before,
// the nested case allocated about 200 bytes per byte (each of the 200 nodes
// written out whole); now about 6 (10 under the race detector, whose
// sync.Pool drops items).
func TestXPathAllocation(t *testing.T) {
	deep := strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000)
	nested := strings.Repeat("<a>", 200) + strings.Repeat("x", 256<<10) + strings.Repeat("</a>", 200)
	tests := []struct {
		name, doc string
		lim       Limits
		max       float64 // bytes allocated per byte of document, besides MaxResult
	}{
		{"deep", deep, Limits{}, 2},
		{"nested within the depth limit", nested, Limits{MaxResult: 1 << 20}, 16},
	}
	for _, tc := range tests {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err := evalLimited(t, "@xpath(variables('doc'), '//a')", tc.lim, map[string]any{"doc": tc.doc})
		runtime.ReadMemStats(&m1)
		if err == nil || !strings.Contains(err.Error(), "'xpath'") {
			t.Fatalf("%s: %v", tc.name, err)
		}
		lim := tc.lim.WithDefaults()
		extra := 0.0
		if tc.name != "deep" {
			extra = float64(lim.MaxResult)
		}
		got := (float64(m1.TotalAlloc-m0.TotalAlloc) - extra) / float64(len(tc.doc))
		t.Logf("%s: %.1f bytes allocated per byte of XML beyond the result limit", tc.name, got)
		if got > tc.max {
			t.Errorf("%s: %.1f bytes allocated per byte of XML beyond the result limit, want at most %v", tc.name, got, tc.max)
		}
	}
}

// FuzzXPathLimits: whatever the XML, xpath within small limits either fails
// or returns a node set whose text fits the result limit.
func FuzzXPathLimits(f *testing.F) {
	for _, s := range []string{"<a><b>x</b><b>y</b></a>", strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20), "<a x='1'><!-- c --><![CDATA[z]]></a>", "<a><b></a>"} {
		f.Add(s)
	}
	lim := Limits{MaxResult: 256, MaxXMLDepth: 8}.WithDefaults()
	f.Fuzz(func(t *testing.T, doc string) {
		v, err := xpathEval(doc, "//*", lim)
		if err != nil {
			return
		}
		n := 0
		for _, s := range v.([]any) {
			n += len(s.(string)) + 1
		}
		if n > lim.MaxResult {
			t.Fatalf("%q: %d characters passed a limit of %d", doc, n, lim.MaxResult)
		}
	})
}
