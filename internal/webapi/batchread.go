package webapi

import (
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"strings"
)

// BatchRequest is one operation of a $batch body.
type BatchRequest struct {
	Method    string
	URL       string
	Header    http.Header
	Body      string
	ContentID string
}

// BatchItem is a top-level part: one request, or a changeset of several.
type BatchItem struct {
	Request   *BatchRequest
	Changeset []*BatchRequest
}

// MaxBatchOperations is the most operations one $batch may carry.
const MaxBatchOperations = 1000

// ReadBatch parses a multipart/mixed $batch body. It accepts CRLF or LF line
// endings, quoted or bare boundaries, and GET parts with no blank line after
// their headers.
func ReadBatch(body, contentType string) ([]BatchItem, error) {
	boundary, err := boundaryOf(contentType)
	if err != nil {
		return nil, err
	}
	parts, err := splitParts(strings.ReplaceAll(body, "\r\n", "\n"), boundary)
	if err != nil {
		return nil, err
	}
	var items []BatchItem
	ops := 0
	for _, p := range parts {
		hdr, rest := splitHeaders(p)
		ct := hdr.Get("Content-Type")
		if len(ct) >= 15 && strings.EqualFold(ct[:15], "multipart/mixed") {
			cb, err := boundaryOf(ct)
			if err != nil {
				return nil, fmt.Errorf("changeset: %w", err)
			}
			sub, err := splitParts(rest, cb)
			if err != nil {
				return nil, fmt.Errorf("changeset: %w", err)
			}
			var cs []*BatchRequest
			for _, sp := range sub {
				r, err := readPart(sp)
				if err != nil {
					return nil, err
				}
				if r.Method == http.MethodGet {
					return nil, fmt.Errorf("a changeset cannot contain a GET request")
				}
				cs = append(cs, r)
			}
			if len(cs) == 0 {
				return nil, fmt.Errorf("a changeset is empty")
			}
			ops += len(cs)
			items = append(items, BatchItem{Changeset: cs})
		} else {
			r, err := readPart(p)
			if err != nil {
				return nil, err
			}
			ops++
			items = append(items, BatchItem{Request: r})
		}
		if ops > MaxBatchOperations {
			return nil, fmt.Errorf("the batch has more than %d operations", MaxBatchOperations)
		}
	}
	return items, nil
}

func boundaryOf(ct string) (string, error) {
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		// Tolerate "multipart/mixed;boundary=x" forms mime rejects.
		i := indexFold(ct, "boundary=")
		if i < 0 {
			return "", fmt.Errorf("the Content-Type %q has no boundary", ct)
		}
		b := strings.Trim(strings.TrimSpace(strings.SplitN(ct[i+9:], ";", 2)[0]), `"`)
		if b == "" {
			return "", fmt.Errorf("the Content-Type %q has an empty boundary", ct)
		}
		return b, nil
	}
	return params["boundary"], nil
}

// splitParts returns the bodies between delimiter lines of boundary.
func splitParts(body, boundary string) ([]string, error) {
	delim, end := "--"+boundary, "--"+boundary+"--"
	lines := strings.Split(body, "\n")
	var parts []string
	var cur []string
	started, closed := false, false
	for _, l := range lines {
		t := strings.TrimRight(l, " \t\r")
		switch {
		case t == end:
			if started {
				parts = append(parts, strings.Join(cur, "\n"))
			}
			closed = true
		case t == delim:
			if started {
				parts = append(parts, strings.Join(cur, "\n"))
			}
			started, cur = true, nil
			continue
		default:
			if started {
				cur = append(cur, l)
			}
			continue
		}
		break
	}
	if !started {
		return nil, fmt.Errorf("no part starts with --%s", boundary)
	}
	if !closed {
		return nil, fmt.Errorf("the multipart body does not end with --%s--", boundary)
	}
	return parts, nil
}

// splitHeaders reads header lines up to a blank line (or the end).
func splitHeaders(s string) (textproto.MIMEHeader, string) {
	h := textproto.MIMEHeader{}
	s = strings.TrimLeft(s, "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			return h, strings.Join(lines[i+1:], "\n")
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return h, strings.Join(lines[i:], "\n")
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h, ""
}

func readPart(p string) (*BatchRequest, error) {
	ph, rest := splitHeaders(p)
	rest = strings.TrimLeft(rest, "\n")
	line, after, _ := strings.Cut(rest, "\n")
	f := strings.Fields(line)
	if len(f) < 2 || len(f) > 3 {
		return nil, fmt.Errorf("a batch part must hold an HTTP request line such as \"POST accounts HTTP/1.1\"; found %q", truncate(line, 80))
	}
	switch f[0] {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return nil, fmt.Errorf("the method %q is not supported in a batch", truncate(f[0], 20))
	}
	r := &BatchRequest{Method: f[0], URL: f[1], Header: http.Header{}}
	lines := strings.Split(after, "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" {
			i++
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("bad header line %q in a batch part", truncate(l, 80))
		}
		r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if i < len(lines) {
		r.Body = strings.TrimRight(strings.Join(lines[i:], "\n"), "\n")
	}
	r.ContentID = ph.Get("Content-ID")
	if r.ContentID == "" {
		r.ContentID = r.Header.Get("Content-ID")
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// indexFold is strings.Index ignoring ASCII case; it keeps byte offsets
// valid for any input, which lowering invalid UTF-8 would not.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
