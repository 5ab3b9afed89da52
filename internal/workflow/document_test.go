package workflow

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"

	"junction/internal/expr"
)

// TestChunkText follows Microsoft Learn "Parse or chunk content for workflows
// in Azure Logic Apps" (parse-document-chunk-text), "Chunk text - Reference":
// chunkingStrategy TokenSize (the default) with EncodingModel (cl100k_base by
// default; r50k_base, p50k_base, p50k_edit, cl200k_base), TokenSize (1 to
// 8000, default 5000) and PageOverlapLength in characters; the earlier
// FixedLength strategy with MaxPageLength; chunks in body.value. The token
// splits of "tiktoken is great!" are those of OpenAI's cookbook "How to count
// tokens with tiktoken": cl100k_base t|ik|token| is| great|!, o200k_base
// t|ikt|oken| is| great|!.
func TestChunkText(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	cases := []struct {
		name   string
		inputs string
		status string
		want   string // outputs, or the error code and a part of its message
	}{
		{"token size", `{"chunkingStrategy": "TokenSize", "text": "tiktoken is great!", "EncodingModel": "cl100k_base", "TokenSize": 2}`, StatusSucceeded, `{"body":{"value":["tik","token is"," great!"]}}`},
		{"token size gpt-4o", `{"chunkingStrategy": "TokenSize", "text": "tiktoken is great!", "encodingModel": "cl200k_base", "tokenSize": 2}`, StatusSucceeded, `{"body":{"value":["tikt","oken is"," great!"]}}`},
		{"token size o200k name", `{"chunkingStrategy": "TokenSize", "text": "tiktoken is great!", "encodingModel": "o200k_base", "tokenSize": "2"}`, StatusSucceeded, `{"body":{"value":["tikt","oken is"," great!"]}}`},
		{"token size gpt-3", `{"chunkingStrategy": "TokenSize", "text": "tiktoken is great!", "encodingModel": "r50k_base", "tokenSize": 3}`, StatusSucceeded, `{"body":{"value":["tiktoken"," is great!"]}}`},
		{"token overlap in characters", `{"chunkingStrategy": "TokenSize", "text": "tiktoken is great!", "encodingModel": "cl100k_base", "tokenSize": 3, "pageOverlapLength": 2}`, StatusSucceeded, `{"body":{"value":["tiktoken","token is great"," great!"]}}`},
		{"token defaults", `{"text": "@{triggerBody()?['doc']}"}`, StatusSucceeded, `{"body":{"value":["hello world"]}}`},
		{"designer defaults", `{"chunkingStrategy": "TokenSize", "text": "hello world", "encodingModel": "cl100k_base", "tokenSize": 5000, "pageOverlapLength": 0}`, StatusSucceeded, `{"body":{"value":["hello world"]}}`},
		{"never inside a character", `{"chunkingStrategy": "TokenSize", "text": "ÅÄÖ🙂", "TokenSize": 1}`, StatusSucceeded, `{"body":{"value":["Å","Ä","Ö","🙂"]}}`},
		{"token empty", `{"chunkingStrategy": "TokenSize", "text": "", "TokenSize": 10}`, StatusSucceeded, `{"body":{"value":[]}}`},
		{"fixed length", `{"chunkingStrategy": "FixedLength", "text": "abcdefghij", "MaxPageLength": 4}`, StatusSucceeded, `{"body":{"value":["abcd","efgh","ij"]}}`},
		{"overlap", `{"chunkingStrategy": "FixedLength", "text": "abcdefghij", "MaxPageLength": 4, "PageOverlapLength": 2}`, StatusSucceeded, `{"body":{"value":["abcd","cdef","efgh","ghij"]}}`},
		{"characters not bytes", `{"chunkingStrategy": "FixedLength", "text": "ÅÄÖåäö", "MaxPageLength": "3"}`, StatusSucceeded, `{"body":{"value":["ÅÄÖ","åäö"]}}`},
		{"from an expression", `{"chunkingStrategy": "FixedLength", "text": "@{triggerBody()?['doc']}", "maxPageLength": 5}`, StatusSucceeded, `{"body":{"value":["hello"," worl","d"]}}`},
		{"empty", `{"chunkingStrategy": "FixedLength", "text": "", "MaxPageLength": 4}`, StatusSucceeded, `{"body":{"value":[]}}`},
		{"unknown strategy", `{"chunkingStrategy": "Sentences", "text": "abc"}`, StatusFailed, "InvalidTemplate: unknown chunkingStrategy 'Sentences'"},
		{"unknown encoding", `{"chunkingStrategy": "TokenSize", "text": "abc", "EncodingModel": "gpt2", "TokenSize": 10}`, StatusFailed, "InvalidTemplate: unknown encodingModel 'gpt2'"},
		{"token size too large", `{"chunkingStrategy": "TokenSize", "text": "abc", "TokenSize": 8001}`, StatusFailed, "InvalidTemplate: tokenSize of '8001'; it must be an integer from 1 to 8000"},
		{"token size zero", `{"chunkingStrategy": "TokenSize", "text": "abc", "TokenSize": 0}`, StatusFailed, "InvalidTemplate: tokenSize of '0'"},
		{"token overlap too large", `{"chunkingStrategy": "TokenSize", "text": "abc", "TokenSize": 5, "PageOverlapLength": 5}`, StatusFailed, "InvalidTemplate: pageOverlapLength of 5 characters; it must be less than its tokenSize 5"},
		{"negative overlap", `{"chunkingStrategy": "TokenSize", "text": "abc", "TokenSize": 5, "PageOverlapLength": -1}`, StatusFailed, "InvalidTemplate: pageOverlapLength of '-1'"},
		{"overlap too large", `{"chunkingStrategy": "FixedLength", "text": "abc", "MaxPageLength": 2, "PageOverlapLength": 2}`, StatusFailed, "InvalidTemplate: pageOverlapLength of 2 characters; it must be less than its MaxPageLength 2"},
		{"length not a number", `{"chunkingStrategy": "FixedLength", "text": "abc", "MaxPageLength": "many"}`, StatusFailed, "InvalidTemplate: MaxPageLength of 'many'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := b.deploy(t, "chunk-"+strings.ReplaceAll(tc.name, " ", "-"), def(`{"Chunk_text": {"type": "ChunkText", "inputs": `+tc.inputs+`}}`))
			r := b.run(t, l, map[string]any{"doc": "hello world"})
			got := rec(r, "Chunk_text")
			if got.Status != tc.status {
				t.Fatalf("status %s, want %s (%s)", got.Status, tc.status, jsonOf(got.Error))
			}
			if tc.status == StatusSucceeded {
				if s := jsonOf(got.Outputs); s != tc.want {
					t.Errorf("outputs %s, want %s", s, tc.want)
				}
				return
			}
			code, part, _ := strings.Cut(tc.want, ": ")
			em, _ := got.Error.(map[string]any)
			if msg, _ := em["message"].(string); em["code"] != code || !strings.Contains(msg, part) {
				t.Errorf("error %s, want code %s and %q", jsonOf(got.Error), code, part)
			}
		})
	}
}

// docx builds a Word document with the given word/document.xml body.
func docx(t testing.TB, body string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"word/document.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` +
			body + `</w:body></w:document>`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testPDF reads a PDF of testdata/pdf (see its README for where each comes
// from).
func testPDF(t testing.TB, name string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", "pdf", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParseDocument follows Microsoft Learn "Parse or chunk content for
// workflows in Azure Logic Apps" (parse-document-chunk-text), the Parse a
// document action: content in (such as a PDF document), its text in
// body.text. Text, HTML, DOCX and PDF are read; encrypted or broken PDF and
// other formats fail with a clear error.
func TestParseDocument(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	plain := testPDF(t, "unencrypted.pdf")
	// A PDF whose page content stream is damaged: the bytes after the first
	// "stream" keyword are overwritten.
	damaged := bytes.Clone(plain)
	if i := bytes.Index(damaged, []byte("stream")); i > 0 {
		copy(damaged[i+8:], bytes.Repeat([]byte("x"), 16))
	}
	const docxType = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	xlsx := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("xl/workbook.xml")
		_, _ = w.Write([]byte("<workbook/>"))
		_ = zw.Close()
		return buf.Bytes()
	}()
	cases := []struct {
		name    string
		content any
		status  string
		want    string // body.text, or the error message's part
	}{
		{"text", "plain text\nsecond line", StatusSucceeded, "plain text\nsecond line"},
		{"csv binary", expr.Binary("text/csv", []byte("\xef\xbb\xbfa,b\n1,2")), StatusSucceeded, "a,b\n1,2"},
		{"html", `<!DOCTYPE html><html><head><title>Report</title><style>p{color:red}</style></head><body><h1>Sales</h1><p>Up   <b>10%</b> this
			year.</p><script>alert(1)</script><ul><li>North</li><li>South</li></ul></body></html>`, StatusSucceeded, "Report\nSales\nUp 10% this year.\nNorth\nSouth"},
		{"docx", expr.Binary(docxType, docx(t, `<w:p><w:r><w:t>Hello</w:t></w:r><w:r><w:t xml:space="preserve"> world</w:t></w:r></w:p><w:p><w:r><w:t>a</w:t><w:tab/><w:t>b</w:t></w:r></w:p>`)),
			StatusSucceeded, "Hello world\na\tb"},
		{"docx by its bytes", expr.Binary("application/octet-stream", docx(t, `<w:p><w:r><w:t>Only</w:t></w:r></w:p>`)), StatusSucceeded, "Only"},
		{"pdf", expr.Binary("application/pdf", plain), StatusSucceeded, "pdf encryption test\npassword: asdfzxcv"},
		{"pdf by its bytes", expr.Binary("application/octet-stream", plain), StatusSucceeded, "pdf encryption test\npassword: asdfzxcv"},
		{"pdf 2.0", expr.Binary("application/pdf", append([]byte("%PDF-2.0\n"), plain[9:]...)), StatusSucceeded, "pdf encryption test\npassword: asdfzxcv"},
		{"pdf pages", expr.Binary("application/pdf", testPDF(t, "two-different-pages.pdf")), StatusSucceeded, "1\n\n2"},
		{"pdf quote operators", expr.Binary("application/pdf", testPDF(t, "toy.pdf")), StatusSucceeded,
			"AWAY again1\nAWAY again2\nSomething[cited]\nSingle quote operator\nDouble quote operator\nLast Txt"},
		{"pdf scripts", expr.Binary("application/pdf", testPDF(t, "hello-world.pdf")), StatusSucceeded,
			"English:\nHello World\nArabic:\nملاعلاب ابحرم\nRussian:\nПривет, мир\nChinese (traditional):\n你好世界\nThai:\nสวัสดีชาวโลก\nJapanese:\nこんにちは世界"},
		{"pdf form XObjects", expr.Binary("application/pdf", testPDF(t, "form-xobject.pdf")), StatusSucceeded,
			"Drawn by the page.\nDrawn by a form XObject.\nDrawn by a form XObject."},
		{"pdf encrypted", expr.Binary("application/pdf", testPDF(t, "r4-aes-user-password.pdf")), StatusFailed, "the PDF document is encrypted"},
		{"pdf encrypted by LibreOffice", expr.Binary("application/pdf", testPDF(t, "libreoffice-writer-password.pdf")), StatusFailed, "the PDF document is encrypted"},
		{"pdf truncated", expr.Binary("application/pdf", plain[:len(plain)/2]), StatusFailed, "not a readable PDF document"},
		{"pdf header only", expr.Binary("application/octet-stream", []byte("%PDF-1.4\n...")), StatusFailed, "not a readable PDF document"},
		{"pdf damaged stream", expr.Binary("application/pdf", damaged), StatusFailed, "page 1 of the PDF document cannot be read"},
		{"xlsx", expr.Binary("application/octet-stream", xlsx), StatusFailed, "XLSX, PPTX and other archives are not supported"},
		{"broken zip", expr.Binary(docxType, []byte("PK\x03\x04 not really")), StatusFailed, "not a valid DOCX"},
		{"binary", expr.Binary("application/octet-stream", []byte{0xff, 0xfe, 0x00, 0x81}), StatusFailed, "neither UTF-8 text nor a supported document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := b.deploy(t, "parse-"+strings.ReplaceAll(tc.name, " ", "-"), def(`{"Parse_a_document": {"type": "ParseDocument", "inputs": {"content": "@triggerBody()?['doc']"}},
				"Chunk": {"type": "ChunkText", "inputs": {"chunkingStrategy": "FixedLength", "text": "@body('Parse_a_document')?['text']", "MaxPageLength": 1000}, "runAfter": {"Parse_a_document": ["Succeeded"]}}}`))
			r := b.run(t, l, map[string]any{"doc": tc.content})
			got := rec(r, "Parse_a_document")
			if got.Status != tc.status {
				t.Fatalf("status %s, want %s (%s)", got.Status, tc.status, jsonOf(got.Error))
			}
			if tc.status != StatusSucceeded {
				em, _ := got.Error.(map[string]any)
				if msg, _ := em["message"].(string); em["code"] != "DocumentNotSupported" || !strings.Contains(msg, tc.want) {
					t.Errorf("error %s, want %q", jsonOf(got.Error), tc.want)
				}
				return
			}
			outs, _ := got.Outputs.(map[string]any)
			body, _ := outs["body"].(map[string]any)
			if body["text"] != tc.want {
				t.Errorf("text %q, want %q", body["text"], tc.want)
			}
			want, _ := json.Marshal(map[string]any{"body": map[string]any{"value": []string{tc.want}}})
			if s := jsonOf(rec(r, "Chunk").Outputs); s != string(want) {
				t.Errorf("chunked %s, want %s", s, want)
			}
		})
	}
}

// TestParseDocumentPDFWords reads a four-page document typeset by pdfTeX,
// which draws no spaces: words are told apart by the gaps between them.
func TestParseDocumentPDFWords(t *testing.T) {
	t.Parallel()
	text, err := parseDocument(context.Background(), "application/pdf", testPDF(t, "pdflatex-outline.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Contents\n1 Foo 2\n2 Bar 2\n3 Baz 2\n",
		"Hello, here is some text without a meaning. This text should show what a\nprinted text will look like at this place.",
		"some nonsense like “Huardest gefburn”? Kjift – not at all!",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if pages := strings.Count(text, "\n\n") + 1; pages != 4 {
		t.Errorf("%d pages, want 4", pages)
	}
}

func FuzzParseDocument(f *testing.F) {
	f.Add("text/html", []byte("<p>a<b>b</b></p><script>x</script>"))
	f.Add("", docx(f, `<w:p><w:r><w:t>Hello</w:t></w:r></w:p>`))
	f.Add("text/plain", []byte("plain"))
	f.Add("", []byte("%PDF-1.7"))
	for _, name := range []string{"toy.pdf", "two-different-pages.pdf", "unencrypted.pdf"} {
		f.Add("application/pdf", testPDF(f, name))
	}
	f.Fuzz(func(t *testing.T, ct string, data []byte) {
		s, err := parseDocument(context.Background(), ct, data)
		if err == nil && !utf8Valid(s) && documentKind(ct, data) == "text" {
			t.Fatalf("text result not UTF-8: %q", s)
		}
		if err == nil && documentKind(ct, data) == "pdf" && !utf8.ValidString(s) {
			t.Fatalf("PDF text not UTF-8: %q", s)
		}
	})
}

// checkTokenSpans checks what tokenChunks promises: every chunk is whole
// characters and at most size tokens (unless it cannot be cut between
// characters where a token ends), each chunk starts after the one before
// and no later than where it ended and ends after it, the last ends with the
// text, and without overlap the chunks make the text.
func checkTokenSpans(t *testing.T, enc tokenizer.Codec, text string, size, overlap int, spans [][2]int) {
	t.Helper()
	if text == "" {
		if len(spans) != 0 {
			t.Fatalf("chunks %v of an empty text", spans)
		}
		return
	}
	prevStart, prevEnd := -1, 0
	for i, sp := range spans {
		if sp[0] <= prevStart || sp[0] > prevEnd || sp[1] <= prevEnd || sp[1] > len(text) {
			t.Fatalf("chunk %d %v does not follow %v in %q", i, sp, spans[max(i-1, 0)], text)
		}
		if overlap == 0 && sp[0] != prevEnd {
			t.Fatalf("chunk %d %v overlaps without PageOverlapLength", i, sp)
		}
		c := text[sp[0]:sp[1]]
		if !utf8.ValidString(c) {
			t.Fatalf("chunk %d %q splits a character", i, c)
		}
		if _, toks, _ := enc.Encode(c); len(toks) > size {
			// Only a chunk that no token boundary between characters could
			// shorten may be longer.
			off := 0
			for _, tok := range toks[:len(toks)-1] {
				if off += len(tok); utf8.RuneStart(c[off]) {
					t.Fatalf("chunk %d %q has %d tokens, limit %d", i, c, len(toks), size)
				}
			}
		}
		prevStart, prevEnd = sp[0], sp[1]
	}
	if prevEnd != len(text) {
		t.Fatalf("chunks %v end at %d of %d", spans, prevEnd, len(text))
	}
}

// TestTokenChunks checks tokenChunks on texts of several scripts, and that
// chunking block by block gives what chunking the whole text gives.
func TestTokenChunks(t *testing.T) {
	t.Parallel()
	enc, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("The quick brown fox jumps over the lazy dog.\nÅngström 你好世界 🙂🙂 naïve café.\n", 40)
	for _, text := range []string{"", " ", "tiktoken is great!", "你好世界", "🙂🙂🙂", "a\u0301e\u0301", long} {
		for _, so := range [][2]int{{1, 0}, {2, 1}, {3, 0}, {5, 4}, {16, 8}, {100, 0}, {5000, 0}} {
			chunks, err := tokenSpans(enc, text, so[0], so[1], tokenBlock)
			if err != nil {
				t.Fatal(err)
			}
			checkTokenSpans(t, enc, text, so[0], so[1], chunks)
			blocked, err := tokenSpans(enc, text, so[0], so[1], 256)
			if err != nil {
				t.Fatal(err)
			}
			checkTokenSpans(t, enc, text, so[0], so[1], blocked)
			if so[0] < 100 && !slices.Equal(blocked, chunks) {
				t.Errorf("size %d overlap %d: by blocks %v, whole %v", so[0], so[1], blocked, chunks)
			}
		}
	}
	// The overlap repeats at least PageOverlapLength characters.
	spans, _ := tokenSpans(enc, long, 20, 10, tokenBlock)
	for i := 1; i < len(spans); i++ {
		if k := utf8.RuneCountInString(long[spans[i][0]:spans[i-1][1]]); k < 10 {
			t.Fatalf("chunk %d %q repeats %d characters of the one before, want at least 10", i, long[spans[i][0]:spans[i][1]], k)
		}
	}
}

func FuzzTokenChunks(f *testing.F) {
	enc, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("tiktoken is great!", 2, 1)
	f.Add("ÅÄÖ🙂 你好世界", 1, 0)
	f.Add("line one\n\n  line two\t\r\n", 3, 2)
	f.Add("0000000000 界", 1, 0) // a space and the first byte of 界 are one token
	f.Fuzz(func(t *testing.T, text string, size, overlap int) {
		if size < 1 || size > 64 || overlap < 0 || overlap >= size {
			return
		}
		text = strings.ToValidUTF8(text, "\uFFFD")
		spans, err := tokenSpans(enc, text, size, overlap, tokenBlock)
		if err != nil {
			t.Fatal(err)
		}
		checkTokenSpans(t, enc, text, size, overlap, spans)
		blocked, err := tokenSpans(enc, text, size, overlap, 32)
		if err != nil {
			t.Fatal(err)
		}
		checkTokenSpans(t, enc, text, size, overlap, blocked)
	})
}

func FuzzFixedChunks(f *testing.F) {
	f.Add("abcdefghij", 4, 2)
	f.Add("ÅÄÖ", 1, 0)
	f.Fuzz(func(t *testing.T, text string, length, overlap int) {
		if length < 1 || length > 1000 || overlap < 0 || overlap >= length {
			return
		}
		chunks := fixedChunks(text, length, overlap)
		// Without overlap the chunks put back together are the text.
		if overlap == 0 && strings.Join(chunks, "") != string([]rune(text)) {
			t.Fatalf("chunks %q do not make %q", chunks, text)
		}
		for _, c := range chunks {
			if n := len([]rune(c)); n > length || n == 0 {
				t.Fatalf("chunk %q of %d characters, limit %d", c, n, length)
			}
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func BenchmarkTokenChunks(b *testing.B) {
	enc, err := tokenizer.Get(tokenizer.Cl100kBase)
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. Ångström, naïve café; 你好世界.\n", 1<<20/80)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := tokenChunks(enc, text, 500, 50); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenizerGet is what a ChunkText action pays to get its encoding
// (the vocabulary is read once per process; the split pattern every time).
func BenchmarkTokenizerGet(b *testing.B) {
	for b.Loop() {
		if _, err := tokenizer.Get(tokenizer.Cl100kBase); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePDF(b *testing.B) {
	data := testPDF(b, "pdflatex-outline.pdf")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseDocument(context.Background(), "application/pdf", data); err != nil {
			b.Fatal(err)
		}
	}
}
