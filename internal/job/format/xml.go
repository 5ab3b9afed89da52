package format

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlReader streams the elements named Options.Record out of a document. A
// record's attributes become fields named "@attr"; its child elements become
// fields named by their path below the record ("address/city"). DOCTYPE
// declarations are refused, so no entity is ever defined or resolved.
type xmlReader struct {
	d        *xml.Decoder
	record   string
	maxDepth int
	max      int64
	depth    int
	done     bool
}

func newXMLReader(r *bufio.Reader, o Options) *xmlReader {
	d := xml.NewDecoder(r)
	d.Strict = true
	d.Entity = nil
	// Input is already UTF-8 (Decode converted it); an encoding named in the
	// declaration is accepted only if it says as much.
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		if o.Encoding != "" {
			return in, nil // decoded from o.Encoding already
		}
		return nil, fmt.Errorf("the declared encoding %q needs the job's encoding option", label)
	}
	x := &xmlReader{d: d, record: o.Record, maxDepth: o.MaxDepth, max: int64(o.maxRecord())}
	if x.record == "" {
		x.record = "record"
	}
	if x.maxDepth <= 0 {
		x.maxDepth = 32
	}
	return x
}

func (x *xmlReader) fail(msg string) error {
	line, _ := x.d.InputPos()
	x.done = true
	return &Error{Line: int64(line), Msg: msg, Fatal: true}
}

func (x *xmlReader) token() (xml.Token, error) {
	tok, err := x.d.Token()
	if err == io.EOF {
		if x.depth > 0 {
			return nil, x.fail("the document ends inside an element (is the file truncated?)")
		}
		return nil, io.EOF
	}
	if err != nil {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			x.done = true
			msg := "XML syntax: " + se.Msg
			if se.Msg == "unexpected EOF" {
				msg += " (is the file truncated?)"
			}
			return nil, &Error{Line: int64(se.Line), Msg: msg, Fatal: true}
		}
		if errors.Is(err, ErrTooLarge) {
			return nil, x.fail(err.Error())
		}
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		x.depth++
		if x.depth > x.maxDepth {
			return nil, x.fail(fmt.Sprintf("elements nest deeper than %d", x.maxDepth))
		}
	case xml.EndElement:
		x.depth--
	case xml.Directive:
		if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
			return nil, x.fail("DOCTYPE declarations are not accepted (no DTDs or entities)")
		}
		return nil, x.fail("XML directives are not accepted")
	}
	return tok, nil
}

func (x *xmlReader) Next() (Record, error) {
	if x.done {
		return Record{}, io.EOF
	}
	for {
		tok, err := x.token()
		if err != nil {
			return Record{}, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != x.record {
			continue
		}
		line, _ := x.d.InputPos()
		return x.readRecord(start, int64(line))
	}
}

func (x *xmlReader) readRecord(start xml.StartElement, line int64) (Record, error) {
	rec := Record{Line: line, Fields: map[string]any{}}
	for _, a := range start.Attr {
		rec.Fields["@"+a.Name.Local] = a.Value
	}
	begin := x.d.InputOffset()
	var path []string
	var text strings.Builder
	var bad string
	for {
		tok, err := x.token()
		if err != nil {
			return Record{}, err
		}
		if x.d.InputOffset()-begin > x.max {
			return Record{}, x.fail(fmt.Sprintf("the record is longer than %d bytes", x.max))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			text.Reset()
			name := strings.Join(path, "/")
			for _, a := range t.Attr {
				rec.Fields[name+"@"+a.Name.Local] = a.Value
			}
		case xml.CharData:
			if len(path) > 0 {
				text.Write(t)
			}
		case xml.EndElement:
			if len(path) == 0 { // the record's own end
				if bad != "" {
					return Record{Line: line}, &Error{Line: line, Column: bad, Msg: "the element appears more than once in one record"}
				}
				return rec, nil
			}
			name := strings.Join(path, "/")
			if _, dup := rec.Fields[name]; dup && bad == "" {
				bad = name
			}
			rec.Fields[name] = strings.TrimSpace(text.String())
			text.Reset()
			path = path[:len(path)-1]
		}
	}
}
