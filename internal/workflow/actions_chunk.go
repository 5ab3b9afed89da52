package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/tiktoken-go/tokenizer"

	"junction/internal/expr"
)

// chunkInput reads an input of a ChunkText action by its documented name,
// ignoring case (the designer writes EncodingModel, TokenSize, ...).
func chunkInput(m map[string]any, name string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// maxChunkLength bounds MaxPageLength and PageOverlapLength.
const maxChunkLength = 1 << 20

// maxTokenSize is the largest TokenSize the designer accepts.
const maxTokenSize = 8000

// chunkEncodings maps the EncodingModel values of the designer to OpenAI's
// encodings. The designer calls GPT-4o's encoding cl200k_base; OpenAI names
// it o200k_base, and both are taken.
var chunkEncodings = map[string]tokenizer.Encoding{
	"r50k_base":   tokenizer.R50kBase,
	"p50k_base":   tokenizer.P50kBase,
	"p50k_edit":   tokenizer.P50kEdit,
	"cl100k_base": tokenizer.Cl100kBase,
	"cl200k_base": tokenizer.O200kBase,
	"o200k_base":  tokenizer.O200kBase,
}

// actChunkText runs Logic Apps' "Chunk text" data operation (type
// ChunkText; Microsoft Learn "Parse or chunk content for workflows in Azure
// Logic Apps", parse-document-chunk-text): inputs.text is split into chunks,
// the outputs' body.value. The TokenSize strategy (the default) makes chunks
// of at most TokenSize tokens (default 5000, at most 8000) of the
// EncodingModel (default cl100k_base); the earlier FixedLength strategy
// makes chunks of MaxPageLength characters. With either, each chunk after
// the first repeats the last PageOverlapLength characters of the one before.
func actChunkText(_ context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	strategy := "TokenSize"
	if v, ok := chunkInput(m, "chunkingStrategy"); ok && v != nil && v != "" {
		strategy = expr.ToString(v)
	}
	text := ""
	if v, ok := chunkInput(m, "text"); ok && v != nil {
		if s, ok := v.(string); ok {
			text = s
		} else if _, data, ok := expr.AsBinary(v); ok {
			text = string(data)
		} else {
			text = expr.ToString(v)
		}
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	var chunks []string
	switch {
	case strings.EqualFold(strategy, "TokenSize"):
		model := "cl100k_base"
		if v, ok := chunkInput(m, "encodingModel"); ok && v != nil && v != "" {
			model = expr.ToString(v)
		}
		encoding, ok := chunkEncodings[strings.ToLower(model)]
		if !ok {
			return failf("InvalidTemplate", "The ChunkText action '%s' has an unknown encodingModel '%s'; use cl100k_base, cl200k_base (o200k_base), p50k_base, p50k_edit or r50k_base", c.name, model)
		}
		size, overlap, err := c.chunkSizes(m, "tokenSize", maxTokenSize)
		if err != nil {
			return err
		}
		codec, err := tokenizer.Get(encoding)
		if err != nil {
			return fmt.Errorf("the %s encoding: %w", model, err)
		}
		if chunks, err = tokenChunks(codec, text, size, overlap); err != nil {
			return failf("ActionFailed", "The ChunkText action '%s' cannot count the tokens of its text: %v", c.name, err)
		}
	case strings.EqualFold(strategy, "FixedLength"):
		length, overlap, err := c.chunkSizes(m, "MaxPageLength", maxChunkLength)
		if err != nil {
			return err
		}
		chunks = fixedChunks(text, length, overlap)
	default:
		return failf("InvalidTemplate", "The ChunkText action '%s' has an unknown chunkingStrategy '%s'; use TokenSize or FixedLength", c.name, strategy)
	}
	out := make([]any, len(chunks))
	for i, s := range chunks {
		out[i] = s
	}
	c.rec.Outputs = map[string]any{"body": map[string]any{"value": out}}
	return nil
}

// chunkSizes reads the chunk size of a ChunkText action (sizeName, default
// 5000, at most hi) and its pageOverlapLength, which must be less.
func (c *call) chunkSizes(m map[string]any, sizeName string, hi int64) (size, overlap int, err error) {
	if size, err = c.chunkNumber(m, sizeName, 5000, 1, hi); err != nil {
		return 0, 0, err
	}
	if overlap, err = c.chunkNumber(m, "pageOverlapLength", 0, 0, maxChunkLength); err != nil {
		return 0, 0, err
	}
	if overlap >= size {
		return 0, 0, failf("InvalidTemplate", "The ChunkText action '%s' has a pageOverlapLength of %d characters; it must be less than its %s %d", c.name, overlap, sizeName, size)
	}
	return size, overlap, nil
}

// chunkNumber reads a whole-number input of a ChunkText action, def when
// it is left out.
func (c *call) chunkNumber(m map[string]any, name string, def, lo, hi int64) (int, error) {
	v, ok := chunkInput(m, name)
	if !ok || v == nil || v == "" {
		return int(def), nil
	}
	n, ok := wholeNumber(v)
	if !ok || n < lo || n > hi {
		return 0, failf("InvalidTemplate", "The ChunkText action '%s' has a %s of '%s'; it must be an integer from %d to %d", c.name, name, expr.ToString(v), lo, hi)
	}
	return int(n), nil
}

// fixedChunks splits text into chunks of length characters (runes), each
// starting overlap characters before the end of the previous one.
func fixedChunks(text string, length, overlap int) []string {
	r := []rune(text)
	if len(r) == 0 {
		return []string{}
	}
	var out []string
	for start := 0; ; start += length - overlap {
		end := min(start+length, len(r))
		out = append(out, string(r[start:end]))
		if end == len(r) {
			return out
		}
	}
}
