package workflow

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
)

// tokenBlock is about how much text tokenChunks encodes at a time, so that
// the tokens of a large text are never all held at once.
const tokenBlock = 1 << 20

// tokenChunks splits text into chunks of at most size tokens of enc, each
// chunk after the first starting at least overlap characters before the
// previous one ended (less when a chunk that long could not get past the
// previous one). Chunks start and end where a token ends and never inside a
// character; where more than size tokens pass before a token ends between
// two characters (an emoji is two tokens of cl100k_base), the chunk runs on
// to that token's end.
//
// The text is encoded a block at a time; the last chunk of a block is left
// for the next block, which starts where that chunk starts, so block ends
// never cut a chunk short.
func tokenChunks(enc tokenizer.Codec, text string, size, overlap int) ([]string, error) {
	spans, err := tokenSpans(enc, text, size, overlap, tokenBlock)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = text[sp[0]:sp[1]]
	}
	return out, nil
}

// tokenSpans is where tokenChunks' chunks start and end in text, encoding
// blocks of about block bytes.
func tokenSpans(enc tokenizer.Codec, text string, size, overlap, block int) ([][2]int, error) {
	out := [][2]int{}
	for pos := 0; pos < len(text); {
		end := len(text)
		if end-pos > block {
			end = blockEnd(text, pos+block, block/4)
		}
		spans, err := blockSpans(enc, text[pos:end], size, overlap)
		if err != nil {
			return nil, err
		}
		for i := range spans {
			spans[i][0] += pos
			spans[i][1] += pos
		}
		if end == len(text) || len(spans) == 1 {
			out = append(out, spans...)
			if end == len(text) {
				return out, nil
			}
			pos = end
			continue
		}
		out = append(out, spans[:len(spans)-1]...)
		pos = spans[len(spans)-1][0]
	}
	return out, nil
}

// blockEnd is a place at or after i to end a block of text: after a line
// break if one comes within near bytes, else at a character boundary.
func blockEnd(text string, i, near int) int {
	if j := strings.IndexByte(text[i:min(len(text), i+near)], '\n'); j >= 0 {
		return i + j + 1
	}
	for i < len(text) && !utf8.RuneStart(text[i]) {
		i++
	}
	return i
}

// blockSpans chunks one block of text as tokenChunks describes.
func blockSpans(enc tokenizer.Codec, text string, size, overlap int) ([][2]int, error) {
	_, toks, err := enc.Encode(text)
	if err != nil {
		return nil, err
	}
	// cuts are the byte offsets where a token ends on a character boundary,
	// at holds the number of tokens before each.
	cuts, at := []int{0}, []int{0}
	off := 0
	for i, t := range toks {
		off += len(t)
		if off <= len(text) && (off == len(text) || utf8.RuneStart(text[off])) {
			cuts = append(cuts, off)
			at = append(at, i+1)
		}
	}
	if off != len(text) || cuts[len(cuts)-1] != len(text) {
		return nil, errors.New("the tokens do not cover the text")
	}
	var out [][2]int
	prev := 0 // where the previous chunk ended, in cuts
	for c := 0; ; {
		e := c + 1
		for e+1 < len(cuts) && at[e+1]-at[c] <= size {
			e++
		}
		// A chunk encoded on its own may take more tokens than within the
		// whole text (it can start inside a word); it is shortened to end
		// by where its own size-th token ends, until it fits.
		for e > c+1 {
			_, own, err := enc.Encode(text[cuts[c]:cuts[e]])
			if err != nil {
				return nil, err
			}
			if len(own) <= size {
				break
			}
			limit := cuts[c]
			for _, t := range own[:size] {
				limit += len(t)
			}
			for e--; e > c+1 && cuts[e] > limit; e-- {
			}
		}
		if e <= prev && c < prev {
			// From c the chunk would not get past the previous one: less
			// overlap.
			c++
			continue
		}
		out = append(out, [2]int{cuts[c], cuts[e]})
		prev = e
		if e == len(cuts)-1 {
			return out, nil
		}
		next := e
		if overlap > 0 {
			target := cuts[e]
			for k := 0; k < overlap && target > cuts[c]; k++ {
				_, w := utf8.DecodeLastRuneInString(text[:target])
				target -= w
			}
			for next > c+1 && cuts[next] > target {
				next--
			}
		}
		c = next
	}
}
