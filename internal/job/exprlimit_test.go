package job

import (
	"strings"
	"testing"
)

// TestMappingExpressionResultCapped: eight nested replace calls in a job
// mapping built a 100-million-character string (1.64 GB); the row is now
// rejected with an error naming the function.
func TestMappingExpressionResultCapped(t *testing.T) {
	t.Parallel()
	src := "field('s')"
	for range 8 {
		src = "replace(" + src + ", 'x', 'xxxxxxxxxx')"
	}
	e, err := parseExpr(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.eval(map[string]any{"s": "x"})
	if err == nil || !strings.Contains(err.Error(), "function 'replace'") {
		t.Fatalf("got a result of %d characters, %v; want the call refused", len(v.(string)), err)
	}
}
