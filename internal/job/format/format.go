// Package format streams records out of CSV, XML, JSON and JSON Lines input and
// writes records as CSV, JSON Lines and Parquet. Readers decode one record at a
// time from an io.Reader, so memory stays flat whatever the size of the file;
// every record carries the line it started on, so errors can be located.
package format

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Record is one row of input: its fields by name and the line it began on.
type Record struct {
	Line   int64
	Fields map[string]any
}

// Reader yields records until io.EOF.
type Reader interface {
	Next() (Record, error)
}

// Error is a located problem in the input.
type Error struct {
	Line   int64
	Column string
	Msg    string
	// Fatal says the reader cannot go on past this error (a broken JSON array
	// or XML document); otherwise only this record is bad and Next continues.
	Fatal bool
}

func (e *Error) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Options say how to read a file. The zero value reads UTF-8 CSV with a header.
type Options struct {
	// Format is csv, xml, json or jsonl.
	Format string `yaml:"format" json:"format,omitempty"`
	// Encoding is utf-8 (the default; a BOM, UTF-8 or UTF-16, is honoured and
	// stripped), utf-16 (BOM required), utf-16le, utf-16be or windows-1252.
	Encoding string `yaml:"encoding" json:"encoding,omitempty"`
	// Delimiter is the CSV field separator (default ",").
	Delimiter string `yaml:"delimiter" json:"delimiter,omitempty"`
	// Quote is the CSV quote character (default `"`); "none" disables quoting.
	Quote string `yaml:"quote" json:"quote,omitempty"`
	// NoHeader says the CSV has no header row; Columns then names the fields.
	NoHeader bool `yaml:"noHeader" json:"noHeader,omitempty"`
	// Columns names CSV fields by position when there is no header.
	Columns []string `yaml:"columns" json:"columns,omitempty"`
	// Headers renames header cells: file header → field name.
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	// Record is the XML element that holds one record (default "record").
	Record string `yaml:"record" json:"record,omitempty"`
	// MaxDepth caps XML nesting (default 32).
	MaxDepth int `yaml:"maxDepth" json:"maxDepth,omitempty"`
	// MaxRecordBytes caps one record: a CSV row, a JSON value, an XML record
	// (default 1 MiB).
	MaxRecordBytes int `yaml:"maxRecordBytes" json:"maxRecordBytes,omitempty"`
	// MaxBytes caps the whole input (0: no cap).
	MaxBytes int64 `yaml:"maxBytes" json:"maxBytes,omitempty"`
}

// Formats that readers accept.
var Formats = []string{"csv", "xml", "json", "jsonl"}

// Check reports the first problem with o.
func (o Options) Check() error {
	switch o.Format {
	case "", "csv", "xml", "json", "jsonl":
	default:
		return fmt.Errorf("format %q is not one of csv, xml, json, jsonl", o.Format)
	}
	if _, err := decoding(o.Encoding); err != nil {
		return err
	}
	if len(o.Delimiter) > 1 || o.Delimiter == "\n" || o.Delimiter == "\r" || (o.Delimiter != "" && o.Delimiter[0] >= 0x80) {
		return fmt.Errorf("delimiter %q must be one ASCII character other than a line break", o.Delimiter)
	}
	if o.Quote != "none" && (len(o.Quote) > 1 || o.Quote == "\n" || o.Quote == "\r" || (o.Quote != "" && o.Quote[0] >= 0x80)) {
		return fmt.Errorf("quote %q must be one ASCII character other than a line break, or none", o.Quote)
	}
	if o.Delimiter != "" && o.Delimiter == o.Quote {
		return errors.New("delimiter and quote must differ")
	}
	if o.NoHeader && len(o.Columns) == 0 && (o.Format == "" || o.Format == "csv") {
		return errors.New("noHeader needs columns")
	}
	return nil
}

func (o Options) maxRecord() int {
	if o.MaxRecordBytes > 0 {
		return o.MaxRecordBytes
	}
	return 1 << 20
}

func decoding(name string) (encoding.Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "", "utf-8", "utf8":
		return nil, nil
	case "utf-16":
		return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), nil
	case "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), nil
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252, nil
	case "iso-8859-1", "latin1":
		return charmap.ISO8859_1, nil
	}
	return nil, fmt.Errorf("encoding %q is not one of utf-8, utf-16, utf-16le, utf-16be, windows-1252, iso-8859-1", name)
}

// ErrTooLarge reports input over Options.MaxBytes.
var ErrTooLarge = errors.New("input is larger than the size cap")

type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// Decode returns r as UTF-8 text per o.Encoding and o.MaxBytes: a UTF-8 BOM is
// dropped; by default a UTF-16 BOM switches to UTF-16.
func Decode(r io.Reader, o Options) (io.Reader, error) {
	enc, err := decoding(o.Encoding)
	if err != nil {
		return nil, err
	}
	if o.MaxBytes > 0 {
		r = &capped{r: r, left: o.MaxBytes}
	}
	if enc == nil {
		return transform.NewReader(r, unicode.BOMOverride(transform.Nop)), nil
	}
	return transform.NewReader(r, enc.NewDecoder()), nil
}

// NewReader returns a record reader over r.
func NewReader(r io.Reader, o Options) (Reader, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	text, err := Decode(r, o)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(text, 64<<10)
	switch o.Format {
	case "xml":
		return newXMLReader(br, o), nil
	case "json":
		return newJSONReader(br, o), nil
	case "jsonl":
		return newJSONLReader(br, o), nil
	}
	return newCSVReader(br, o)
}
