package workflow

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"

	"junction/internal/expr"
)

// maxDocumentText bounds the text a ParseDocument action extracts (and what
// it reads of one DOCX part).
const maxDocumentText = 64 << 20

// actParseDocument runs Logic Apps' "Parse a document" data operation (type
// ParseDocument; Microsoft Learn "Parse or chunk content for workflows in
// Azure Logic Apps", parse-document-chunk-text): inputs.content (text, or
// binary content as {"$content-type", "$content"}) becomes plain text in the
// outputs' body.text. Text (including CSV) is kept as is; HTML gives its
// visible text, one line per block; DOCX gives its paragraphs, one per line;
// PDF gives the text of its pages in order, lines and words told apart from
// where the text is drawn. Encrypted PDF and other formats are refused with
// a clear error.
func actParseDocument(ctx context.Context, c *call) error {
	in, err := c.resolve(c.a.Inputs)
	if err != nil {
		return err
	}
	m, _ := in.(map[string]any)
	c.rec.Inputs = m
	v, _ := chunkInput(m, "content")
	if v == nil {
		return failf("InvalidTemplate", "The ParseDocument action '%s' needs inputs.content", c.name)
	}
	ct, data := "", []byte(nil)
	if t, b, ok := expr.AsBinary(v); ok {
		ct, data = t, b
	} else if s, ok := v.(string); ok {
		data = []byte(s)
	} else {
		data = []byte(expr.ToString(v))
	}
	text, err := parseDocument(ctx, ct, data)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return failf("DocumentNotSupported", "The ParseDocument action '%s' cannot read its content: %v", c.name, err)
	}
	c.rec.Outputs = map[string]any{"body": map[string]any{"text": text}}
	return nil
}

// documentKind names a document's format from its content type, or its
// bytes when the type says nothing specific.
func documentKind(ct string, data []byte) string {
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return "docx"
	case "application/pdf":
		return "pdf"
	case "text/html", "application/xhtml+xml":
		return "html"
	}
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "pdf"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "zip"
	}
	if strings.HasPrefix(mt, "text/") && mt != "text/html" {
		return "text"
	}
	if strings.HasPrefix(http.DetectContentType(data), "text/html") {
		return "html"
	}
	return "text"
}

// parseDocument extracts the text of a document.
func parseDocument(ctx context.Context, ct string, data []byte) (string, error) {
	switch documentKind(ct, data) {
	case "pdf":
		return pdfText(ctx, data)
	case "docx", "zip":
		return docxText(data)
	case "html":
		return htmlText(data)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return "", errors.New("the content is neither UTF-8 text nor a supported document (HTML, DOCX)")
	}
	return string(data), nil
}

// htmlBlocks are the elements that start a new line of text.
var htmlBlocks = map[string]bool{"p": true, "div": true, "br": true, "li": true, "tr": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "section": true, "article": true, "header": true, "footer": true,
	"table": true, "ul": true, "ol": true, "pre": true, "blockquote": true, "title": true, "dt": true, "dd": true}

// htmlText is the visible text of an HTML document: scripts, styles and
// templates are left out, runs of white space become one space, and block
// elements end lines.
func htmlText(data []byte) (string, error) {
	z := html.NewTokenizer(bytes.NewReader(data))
	var lines []string
	var cur strings.Builder
	flush := func() {
		if s := strings.Join(strings.Fields(cur.String()), " "); s != "" {
			lines = append(lines, s)
		}
		cur.Reset()
	}
	skip := 0
	size := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return "", err
			}
			flush()
			return strings.Join(lines, "\n"), nil
		case html.TextToken:
			if skip == 0 {
				t := z.Text()
				size += len(t)
				if size > maxDocumentText {
					return "", fmt.Errorf("the document's text is larger than %d bytes", maxDocumentText)
				}
				cur.Write(t)
				cur.WriteByte(' ')
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "template", "noscript", "head":
				if tag == "head" {
					// The title is the only text of the head kept.
					continue
				}
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if htmlBlocks[tag] {
				flush()
			}
		}
	}
}

// docxText is the text of a Word document (a zip of XML parts): the
// paragraphs of word/document.xml, one per line, tabs and breaks kept.
func docxText(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("the content is not a valid DOCX (zip) file: %v", err)
	}
	var part *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			part = f
		}
	}
	if part == nil {
		return "", errors.New("the zip content is not a DOCX document (it has no word/document.xml); XLSX, PPTX and other archives are not supported")
	}
	rc, err := part.Open()
	if err != nil {
		return "", fmt.Errorf("the DOCX document cannot be read: %v", err)
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, maxDocumentText))
	const w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	var b strings.Builder
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("the DOCX document's XML is not valid: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != w {
				continue
			}
			switch t.Name.Local {
			case "t":
				inText = true
			case "tab":
				b.WriteByte('\t')
			case "br", "cr":
				b.WriteByte('\n')
			}
		case xml.EndElement:
			if t.Name.Space != w {
				continue
			}
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				b.WriteByte('\n')
			}
		case xml.CharData:
			if inText {
				b.Write(t)
			}
		}
	}
	return strings.TrimRight(b.String(), "\n"), nil
}
