package dataverse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// Op is one request inside a $batch. Path is relative to the service root
// (or "$n" for a row created earlier in the same changeset).
type Op struct {
	Method    string
	Path      string
	Body      any
	Header    http.Header
	ContentID string
}

// Part is a top-level batch part: one Op, or an atomic changeset of Ops.
type Part struct {
	Op        *Op
	Changeset []Op
}

// Result is the answer to one Op.
type Result struct {
	ContentID string
	Status    int
	Header    http.Header
	Body      []byte
}

// Err returns the result's error, if it failed.
func (r Result) Err() error {
	if r.Status < 400 {
		return nil
	}
	return parseError(&Response{Status: r.Status, Body: r.Body})
}

func newBoundary(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func writeOp(b *bytes.Buffer, base string, op Op) error {
	b.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n")
	if op.ContentID != "" {
		fmt.Fprintf(b, "Content-ID: %s\r\n", op.ContentID)
	}
	target := op.Path
	if !strings.HasPrefix(target, "$") && !strings.HasPrefix(target, "http") {
		target = base + strings.TrimPrefix(target, "/")
	}
	fmt.Fprintf(b, "\r\n%s %s HTTP/1.1\r\n", op.Method, target)
	for k, vs := range op.Header {
		for _, v := range vs {
			fmt.Fprintf(b, "%s: %s\r\n", k, v)
		}
	}
	if op.Body != nil {
		data, err := json.Marshal(op.Body)
		if err != nil {
			return err
		}
		b.WriteString("Content-Type: application/json\r\n\r\n")
		b.Write(data)
		b.WriteString("\r\n")
	} else {
		b.WriteString("\r\n")
	}
	return nil
}

// Batch sends parts in one $batch request. Without continueOnError the
// server stops at the first failure; a failed changeset leaves nothing behind.
func (c *Client) Batch(ctx context.Context, parts []Part, continueOnError bool) ([]Result, error) {
	outer := newBoundary("batch_")
	var b bytes.Buffer
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\r\n", outer)
		if p.Op != nil {
			if err := writeOp(&b, c.base, *p.Op); err != nil {
				return nil, err
			}
			continue
		}
		cs := newBoundary("changeset_")
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n", cs)
		for i, op := range p.Changeset {
			if op.ContentID == "" {
				op.ContentID = fmt.Sprint(i + 1)
			}
			fmt.Fprintf(&b, "--%s\r\n", cs)
			if err := writeOp(&b, c.base, op); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(&b, "--%s--\r\n", cs)
	}
	fmt.Fprintf(&b, "--%s--\r\n", outer)
	h := http.Header{"Content-Type": {"multipart/mixed; boundary=" + outer}}
	if continueOnError {
		h.Set("Prefer", "odata.continue-on-error")
	}
	r, err := c.Do(ctx, http.MethodPost, "$batch", b.Bytes(), h)
	if err != nil {
		return nil, err
	}
	return readBatchResponse(r.Header.Get("Content-Type"), r.Body)
}

func readBatchResponse(ct string, body []byte) ([]Result, error) {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("dataverse: batch response type %q has no boundary", ct)
	}
	var out []Result
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dataverse: batch response: %w", err)
		}
		pct := p.Header.Get("Content-Type")
		if strings.HasPrefix(pct, "multipart/mixed") {
			data, _ := io.ReadAll(p)
			sub, err := readBatchResponse(pct, data)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		res, err := http.ReadResponse(bufio.NewReader(p), nil)
		if err != nil {
			return nil, fmt.Errorf("dataverse: batch response part: %w", err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		out = append(out, Result{ContentID: p.Header.Get("Content-ID"), Status: res.StatusCode, Header: res.Header, Body: data})
	}
}
