package format

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// lineTracker counts the lines of what a json.Decoder has read, so that a
// decoder offset can be turned into a line number. It keeps only the newline
// offsets past the last record, so memory stays flat.
type lineTracker struct {
	r        io.Reader
	read     int64   // bytes read so far
	newlines []int64 // offsets of '\n' not yet folded into base
	base     int64   // lines before newlines[0]
	mark     int64   // offset of the current record's start
	max      int64
}

var errJSONTooLarge = errors.New("json record too large")

func (l *lineTracker) Read(p []byte) (int, error) {
	if l.read-l.mark > l.max+64<<10 {
		return 0, errJSONTooLarge
	}
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.newlines = append(l.newlines, l.read+int64(i))
		}
	}
	l.read += int64(n)
	return n, err
}

// line returns the 1-based line of offset and forgets what comes before it.
func (l *lineTracker) line(offset int64) int64 {
	i := sort.Search(len(l.newlines), func(i int) bool { return l.newlines[i] >= offset })
	l.base += int64(i)
	l.newlines = append(l.newlines[:0], l.newlines[i:]...)
	l.mark = offset
	return l.base + 1
}

// jsonReader streams the objects of a top-level JSON array, or a sequence of
// top-level objects.
type jsonReader struct {
	lt      *lineTracker
	d       *json.Decoder
	br      *bufio.Reader
	started bool
	array   bool
	done    bool
	max     int
}

func newJSONReader(r *bufio.Reader, o Options) *jsonReader {
	lt := &lineTracker{r: r, max: int64(o.maxRecord())}
	d := json.NewDecoder(lt)
	d.UseNumber()
	return &jsonReader{lt: lt, d: d, br: r, max: o.maxRecord()}
}

func (j *jsonReader) fail(err error) error {
	j.done = true
	line := j.lt.line(j.d.InputOffset())
	var se *json.SyntaxError
	switch {
	case errors.Is(err, errJSONTooLarge):
		return &Error{Line: line, Msg: fmt.Sprintf("a record is longer than %d bytes", j.max), Fatal: true}
	case errors.Is(err, ErrTooLarge):
		return &Error{Line: line, Msg: err.Error(), Fatal: true}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Line: line, Msg: "the JSON ends early (is the file truncated?)", Fatal: true}
	case errors.As(err, &se):
		return &Error{Line: j.lt.line(se.Offset), Msg: "JSON syntax: " + se.Error(), Fatal: true}
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return &Error{Line: line, Msg: "JSON: " + err.Error(), Fatal: true}
	}
	return &Error{Line: line, Msg: "JSON: " + err.Error(), Fatal: true}
}

func (j *jsonReader) Next() (Record, error) {
	if j.done {
		return Record{}, io.EOF
	}
	if !j.started {
		j.started = true
		// '[' starts an array of records; '{' a sequence of objects.
		if b, err := firstByte(j.br); err == nil && b == '{' {
			j.array = false
			goto record
		}
		tok, err := j.d.Token()
		if err == io.EOF {
			j.done = true
			return Record{}, io.EOF
		}
		if err != nil {
			return Record{}, j.fail(err)
		}
		if d, ok := tok.(json.Delim); ok && d == '[' {
			j.array = true
		} else {
			return Record{}, j.fail(fmt.Errorf("expected an array of objects or a sequence of objects, found %v", tok))
		}
	}
	if j.array && !j.d.More() {
		tok, err := j.d.Token()
		if err != nil {
			return Record{}, j.fail(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != ']' {
			return Record{}, j.fail(fmt.Errorf("unexpected %v", tok))
		}
		if _, err := j.d.Token(); err != io.EOF {
			if err == nil {
				err = errors.New("content after the closing bracket")
			}
			return Record{}, j.fail(err)
		}
		j.done = true
		return Record{}, io.EOF
	}
	if !j.array && !j.d.More() {
		if _, err := j.d.Token(); err != io.EOF {
			if err == nil {
				err = errors.New("unexpected content between objects")
			}
			return Record{}, j.fail(err)
		}
		j.done = true
		return Record{}, io.EOF
	}
record:
	var raw json.RawMessage
	if err := j.d.Decode(&raw); err != nil {
		return Record{}, j.fail(err)
	}
	line := j.lt.line(j.d.InputOffset() - int64(len(raw)))
	return decodeObject(raw, line)
}

// firstByte peeks at the first byte that is not white space.
func firstByte(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if err != nil {
			return 0, err
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		default:
			return c, nil
		}
	}
}

func decodeObject(raw []byte, line int64) (Record, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Record{Line: line}, &Error{Line: line, Msg: "the record is not a JSON object"}
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return Record{Line: line}, &Error{Line: line, Msg: "JSON: " + err.Error()}
	}
	if d.More() {
		return Record{Line: line}, &Error{Line: line, Msg: "JSON: content after the object"}
	}
	return Record{Line: line, Fields: m}, nil
}

// jsonlReader reads one JSON object per line.
type jsonlReader struct {
	c csvReader // for readLine
}

func newJSONLReader(r *bufio.Reader, o Options) *jsonlReader {
	return &jsonlReader{c: csvReader{r: r, max: o.maxRecord()}}
}

func (j *jsonlReader) Next() (Record, error) {
	for {
		line, err := j.c.readLine(0)
		if err == errRecordTooLarge {
			return Record{Line: j.c.line}, &Error{Line: j.c.line, Msg: fmt.Sprintf("the line is longer than %d bytes", j.c.max)}
		}
		if err != nil {
			return Record{}, err
		}
		if len(line) == 0 {
			return Record{}, io.EOF
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		return decodeObject(line, j.c.line)
	}
}
