package format

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// csvReader is an RFC 4180 reader with a configurable delimiter and quote. It
// keeps the line each record starts on, accepts LF and CRLF line ends, skips
// blank lines, and reports a bad row without giving up on the rows after it.
type csvReader struct {
	r      *bufio.Reader
	delim  byte
	quote  byte // 0: no quoting
	max    int
	line   int64 // lines consumed so far
	header []string
	rename map[string]string
	// field holds the text of the record's fields one after another, ends
	// where each ends: the fields are cut from one string.
	field  []byte
	ends   []int
	fields []string
}

func newCSVReader(r *bufio.Reader, o Options) (*csvReader, error) {
	c := &csvReader{r: r, delim: ',', quote: '"', max: o.maxRecord(), rename: o.Headers}
	if o.Delimiter != "" {
		c.delim = o.Delimiter[0]
	}
	switch o.Quote {
	case "":
	case "none":
		c.quote = 0
	default:
		c.quote = o.Quote[0]
	}
	if o.NoHeader {
		c.header = append([]string(nil), o.Columns...)
		return c, nil
	}
	for {
		fields, line, err := c.readRecord()
		if err == io.EOF {
			return nil, &Error{Line: 1, Msg: "the file is empty: a header row is expected", Fatal: true}
		}
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for i, f := range fields {
			name := strings.TrimSpace(f)
			if to, ok := c.rename[name]; ok {
				name = to
			}
			if name == "" {
				return nil, &Error{Line: line, Msg: fmt.Sprintf("header cell %d is empty", i+1), Fatal: true}
			}
			if seen[name] {
				return nil, &Error{Line: line, Msg: fmt.Sprintf("header %q appears twice", name), Fatal: true}
			}
			seen[name] = true
			c.header = append(c.header, name)
		}
		return c, nil
	}
}

// Header is the field names, in file order.
func (c *csvReader) Header() []string { return c.header }

func (c *csvReader) Next() (Record, error) {
	fields, line, err := c.readRecord()
	if err != nil {
		return Record{}, err
	}
	if len(fields) != len(c.header) {
		return Record{Line: line}, &Error{Line: line, Msg: fmt.Sprintf("%d fields where the header has %d", len(fields), len(c.header))}
	}
	rec := Record{Line: line, Fields: make(map[string]any, len(fields))}
	for i, f := range fields {
		if !utf8.ValidString(f) {
			return Record{Line: line}, &Error{Line: line, Column: c.header[i], Msg: "the text is not valid UTF-8 (set encoding, for example windows-1252)"}
		}
		rec.Fields[c.header[i]] = f
	}
	return rec, nil
}

// readLine returns the next physical line including its end, capped at max.
func (c *csvReader) readLine(sofar int) ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if sofar+len(buf) > c.max {
				// Skip the rest of this line so that the next record can be read.
				for err == bufio.ErrBufferFull {
					_, err = c.r.ReadSlice('\n')
				}
				c.line++
				return nil, errRecordTooLarge
			}
			line, err = c.r.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if len(line) > 0 {
		c.line++
		if err == io.EOF {
			err = nil
		}
	}
	if sofar+len(line) > c.max {
		return nil, errRecordTooLarge
	}
	return line, err
}

var errRecordTooLarge = errors.New("record too large")

// readRecord parses one logical record, which may span lines inside quotes.
func (c *csvReader) readRecord() ([]string, int64, error) {
	var line []byte
	var err error
	for { // skip blank lines
		line, err = c.readLine(0)
		if err == errRecordTooLarge {
			return nil, c.line, &Error{Line: c.line, Msg: fmt.Sprintf("the row is longer than %d bytes", c.max)}
		}
		if err != nil {
			return nil, c.line, err
		}
		if len(bytes.TrimRight(line, "\r\n")) > 0 {
			break
		}
	}
	start := c.line
	c.fields = c.fields[:0]
	c.field = c.field[:0]
	c.ends = c.ends[:0]
	size := len(line)
	const (
		fieldStart = iota
		unquoted
		quoted
		quoteInQuoted
	)
	state := fieldStart
	for {
		for i := 0; i < len(line); i++ {
			b := line[i]
			switch state {
			case fieldStart, unquoted:
				switch {
				case b == c.delim:
					c.ends = append(c.ends, len(c.field))
					state = fieldStart
				case b == '\n' || (b == '\r' && i+1 < len(line) && line[i+1] == '\n'):
					if b == '\r' {
						i++
					}
					return c.record(), start, nil
				case state == fieldStart && c.quote != 0 && b == c.quote:
					state = quoted
				default:
					c.field = append(c.field, b)
					state = unquoted
				}
			case quoted:
				switch {
				case b == c.quote:
					state = quoteInQuoted
				case b == '\r' && i+1 < len(line) && line[i+1] == '\n':
					// CRLF inside a quoted field reads as LF, as encoding/csv does.
				default:
					c.field = append(c.field, b)
				}
			case quoteInQuoted:
				switch {
				case b == c.quote:
					c.field = append(c.field, b)
					state = quoted
				case b == c.delim:
					c.ends = append(c.ends, len(c.field))
					state = fieldStart
				case b == '\n' || (b == '\r' && i+1 < len(line) && line[i+1] == '\n'):
					return c.record(), start, nil
				default:
					col := len(c.ends) + 1
					c.skipRest(line[i:])
					return nil, start, &Error{Line: c.line, Msg: fmt.Sprintf("field %d: unexpected %q after a closing quote", col, b)}
				}
			}
		}
		// The line ended without a line break: the end of the input, or a
		// quoted field that goes on to the next line.
		if state == quoted {
			next, err := c.readLine(size)
			if err == errRecordTooLarge {
				return nil, start, &Error{Line: start, Msg: fmt.Sprintf("the row is longer than %d bytes", c.max)}
			}
			if err == io.EOF || (err == nil && len(next) == 0) {
				return nil, start, &Error{Line: start, Msg: fmt.Sprintf("field %d: a quoted field is not closed before the end of the file (is the file truncated?)", len(c.ends)+1)}
			}
			if err != nil {
				return nil, start, err
			}
			size += len(next)
			line = next
			continue
		}
		if len(line) == 0 || line[len(line)-1] != '\n' {
			return c.record(), start, nil
		}
		return c.cut(), start, nil // a line break as the delimiter ended the last field
	}
}

// record ends the last field and returns the record's fields.
func (c *csvReader) record() []string {
	c.ends = append(c.ends, len(c.field))
	return c.cut()
}

// cut cuts the fields ended so far from one string: one allocation a record
// rather than one a field.
func (c *csvReader) cut() []string {
	if len(c.ends) == 0 {
		return c.fields
	}
	text := string(c.field[:c.ends[len(c.ends)-1]])
	from := 0
	for _, end := range c.ends {
		c.fields = append(c.fields, text[from:end])
		from = end
	}
	return c.fields
}

// skipRest discards the rest of a broken record up to the end of its line.
func (c *csvReader) skipRest(rest []byte) {
	if bytes.IndexByte(rest, '\n') >= 0 {
		return
	}
	for {
		line, err := c.readLine(0)
		if err != nil || bytes.IndexByte(line, '\n') >= 0 {
			return
		}
	}
}
