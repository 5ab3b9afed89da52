package openapi_test

import (
	"strings"
	"testing"
	"time"

	"junction/internal/connector/openapi"
)

func TestAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("openapi: 3.0.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" + strings.Repeat(prev+", ", 9) + prev + "]\n")
	}
	b.WriteString("paths: {}\n")
	start := time.Now()
	_, err := openapi.Load("bomb", []byte(b.String()), nil)
	if err == nil {
		t.Fatal("a document that expands to millions of nodes was accepted")
	}
	t.Log(err, time.Since(start))
}
