package workflow

import (
	"context"
	"strings"

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

// actChunkText runs Logic Apps' "Chunk text" data operation (type
// ChunkText; Microsoft Learn "Parse or chunk content for workflows in Azure
// Logic Apps", parse-document-chunk-text): inputs.text is split into chunks.
// The FixedLength strategy makes chunks of MaxPageLength characters, each
// starting PageOverlapLength characters before the previous one ended. The
// TokenSize strategy counts tokens of an OpenAI encoding (cl100k_base, ...)
// that Junction does not ship: it is refused with a clear error. The outputs'
// body.value is the array of chunks.
func actChunkText(_ context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	strategy := "FixedLength"
	if v, ok := chunkInput(m, "chunkingStrategy"); ok && v != nil {
		strategy = expr.ToString(v)
	}
	switch {
	case strings.EqualFold(strategy, "TokenSize"):
		return failf("ChunkingStrategyNotSupported", "The ChunkText action '%s' uses the TokenSize strategy, which needs an OpenAI token encoding that is not available here; use the FixedLength strategy (MaxPageLength characters)", c.name)
	case !strings.EqualFold(strategy, "FixedLength"):
		return failf("InvalidChunkingStrategy", "The chunking strategy '%s' of action '%s' is not FixedLength or TokenSize", strategy, c.name)
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
	length, err := c.chunkNumber(m, "MaxPageLength", 5000, 1)
	if err != nil {
		return err
	}
	overlap, err := c.chunkNumber(m, "PageOverlapLength", 0, 0)
	if err != nil {
		return err
	}
	if overlap >= length {
		return failf("InvalidChunkingOptions", "The PageOverlapLength %d of action '%s' must be less than its MaxPageLength %d", overlap, c.name, length)
	}
	chunks := fixedChunks(text, length, overlap)
	out := make([]any, len(chunks))
	for i, s := range chunks {
		out[i] = s
	}
	c.rec.Outputs = map[string]any{"body": map[string]any{"value": out}}
	return nil
}

func (c *call) chunkNumber(m map[string]any, name string, def, min int64) (int, error) {
	v, ok := chunkInput(m, name)
	if !ok || v == nil || v == "" {
		return int(def), nil
	}
	n, ok := wholeNumber(v)
	if !ok || n < min || n > maxChunkLength {
		return 0, failf("InvalidChunkingOptions", "The %s of action '%s' must be an integer from %d to %d, not '%s'", name, c.name, min, maxChunkLength, expr.ToString(v))
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
