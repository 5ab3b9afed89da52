package workflow

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"junction/internal/expr"
)

// TestChunkText follows Microsoft Learn "Parse or chunk content for workflows
// in Azure Logic Apps" (parse-document-chunk-text), the Chunk text action:
// the FixedLength strategy with MaxPageLength and PageOverlapLength, chunks
// in body.value; TokenSize needs an encoding not available here and fails
// clearly.
func TestChunkText(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	cases := []struct {
		name   string
		inputs string
		status string
		want   string // outputs, or the error code
	}{
		{"fixed length", `{"chunkingStrategy": "FixedLength", "text": "abcdefghij", "MaxPageLength": 4}`, StatusSucceeded, `{"body":{"value":["abcd","efgh","ij"]}}`},
		{"overlap", `{"chunkingStrategy": "FixedLength", "text": "abcdefghij", "MaxPageLength": 4, "PageOverlapLength": 2}`, StatusSucceeded, `{"body":{"value":["abcd","cdef","efgh","ghij"]}}`},
		{"characters not bytes", `{"chunkingStrategy": "FixedLength", "text": "ÅÄÖåäö", "MaxPageLength": "3"}`, StatusSucceeded, `{"body":{"value":["ÅÄÖ","åäö"]}}`},
		{"from an expression", `{"chunkingStrategy": "FixedLength", "text": "@{triggerBody()?['doc']}", "maxPageLength": 5}`, StatusSucceeded, `{"body":{"value":["hello"," worl","d"]}}`},
		{"empty", `{"chunkingStrategy": "FixedLength", "text": "", "MaxPageLength": 4}`, StatusSucceeded, `{"body":{"value":[]}}`},
		{"default length", `{"text": "short"}`, StatusSucceeded, `{"body":{"value":["short"]}}`},
		{"token size", `{"chunkingStrategy": "TokenSize", "text": "abc", "EncodingModel": "cl100k_base", "TokenSize": 10}`, StatusFailed, "ChunkingStrategyNotSupported"},
		{"unknown strategy", `{"chunkingStrategy": "Sentences", "text": "abc"}`, StatusFailed, "InvalidChunkingStrategy"},
		{"overlap too large", `{"chunkingStrategy": "FixedLength", "text": "abc", "MaxPageLength": 2, "PageOverlapLength": 2}`, StatusFailed, "InvalidChunkingOptions"},
		{"length not a number", `{"chunkingStrategy": "FixedLength", "text": "abc", "MaxPageLength": "many"}`, StatusFailed, "InvalidChunkingOptions"},
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
			} else if em, _ := got.Error.(map[string]any); em["code"] != tc.want {
				t.Errorf("error %s, want code %s", jsonOf(got.Error), tc.want)
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

func BenchmarkParsePDF(b *testing.B) {
	data := testPDF(b, "pdflatex-outline.pdf")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseDocument(context.Background(), "application/pdf", data); err != nil {
			b.Fatal(err)
		}
	}
}
