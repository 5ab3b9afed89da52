package workflow

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

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

// TestParseDocument follows Microsoft Learn "Parse or chunk content for
// workflows in Azure Logic Apps" (parse-document-chunk-text), the Parse a
// document action: content in, its text in body.text. Text, HTML and DOCX are
// read; PDF is refused with a clear error.
func TestParseDocument(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
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
		{"pdf", expr.Binary("application/pdf", []byte("%PDF-1.7\n...")), StatusFailed, "PDF documents are not supported here"},
		{"pdf by its bytes", expr.Binary("application/octet-stream", []byte("%PDF-1.4\n...")), StatusFailed, "PDF documents are not supported here"},
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

func FuzzParseDocument(f *testing.F) {
	f.Add("text/html", []byte("<p>a<b>b</b></p><script>x</script>"))
	f.Add("", docx(f, `<w:p><w:r><w:t>Hello</w:t></w:r></w:p>`))
	f.Add("text/plain", []byte("plain"))
	f.Add("", []byte("%PDF-1.7"))
	f.Fuzz(func(t *testing.T, ct string, data []byte) {
		s, err := parseDocument(ct, data)
		if err == nil && !utf8Valid(s) && documentKind(ct, data) == "text" {
			t.Fatalf("text result not UTF-8: %q", s)
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
