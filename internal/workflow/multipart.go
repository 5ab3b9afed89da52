package workflow

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"

	"junction/internal/expr"
)

// part is one part of a multipart trigger body.
type part struct {
	name        string // the form field name, if any
	contentType string
	data        []byte
}

// value is a part's body as expressions see it: JSON parsed, text as text,
// other content as a binary value.
func (p part) value() any {
	mt, _, _ := mime.ParseMediaType(p.contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if v, err := expr.DecodeJSON(p.data); err == nil {
			return v
		}
	case p.contentType == "" || isText(mt):
		return string(p.data)
	}
	return expr.Binary(p.contentType, p.data)
}

// multipartParts splits a multipart trigger body (kept as binary content
// with its multipart/* content type). ok is false when the body is not
// multipart.
func multipartParts(body any) (parts []part, ok bool, err error) {
	ct, data, isBin := expr.AsBinary(body)
	if !isBin {
		return nil, false, nil
	}
	mt, params, perr := mime.ParseMediaType(ct)
	if perr != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, false, nil
	}
	r := multipart.NewReader(bytes.NewReader(data), params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return parts, true, nil
		}
		if err != nil {
			return nil, true, fmt.Errorf("the multipart trigger body cannot be read: %v", err)
		}
		b, err := io.ReadAll(io.LimitReader(p, maxHTTPBody))
		if err != nil {
			return nil, true, fmt.Errorf("the multipart trigger body cannot be read: %v", err)
		}
		parts = append(parts, part{name: p.FormName(), contentType: p.Header.Get("Content-Type"), data: b})
	}
}
