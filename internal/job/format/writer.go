package format

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Column types, shared by mappings, validation and writers.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeFloat    = "float"
	TypeDecimal  = "decimal" // exact, carried as its decimal text
	TypeBool     = "bool"
	TypeDateTime = "datetime"
	TypeDate     = "date"
	TypeGUID     = "guid"
)

// Types lists the column types.
var Types = []string{TypeString, TypeInt, TypeFloat, TypeDecimal, TypeBool, TypeDateTime, TypeDate, TypeGUID}

// Column names a written field and its type.
type Column struct {
	Name string
	Type string
}

// Writer writes records; Close flushes and ends the file (it does not close
// the underlying io.Writer).
type Writer interface {
	Write(fields map[string]any) error
	Close() error
}

// WriterFormats are the formats NewWriter accepts.
var WriterFormats = []string{"csv", "jsonl", "parquet"}

// NewWriter writes records with the given columns, in order, as format. CSV
// output starts with a header row.
func NewWriter(w io.Writer, format string, cols []Column) (Writer, error) {
	return newWriter(w, format, cols, true)
}

// NewHeaderlessWriter is NewWriter without the CSV header row (Synapse Link
// layouts name the columns in model.json instead).
func NewHeaderlessWriter(w io.Writer, format string, cols []Column) (Writer, error) {
	return newWriter(w, format, cols, false)
}

func newWriter(w io.Writer, format string, cols []Column, header bool) (Writer, error) {
	switch format {
	case "", "csv":
		cw := csv.NewWriter(w)
		if header {
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = c.Name
			}
			if err := cw.Write(names); err != nil {
				return nil, err
			}
		}
		return &csvWriter{w: cw, cols: cols, row: make([]string, len(cols))}, nil
	case "jsonl":
		bw := bufio.NewWriterSize(w, 64<<10)
		return &jsonlWriter{w: bw, cols: cols}, nil
	case "parquet":
		return newParquetWriter(w, cols), nil
	}
	return nil, fmt.Errorf("output format %q is not one of csv, jsonl, parquet", format)
}

// Text renders a typed value the way CSV output and checksums show it.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

type csvWriter struct {
	w    *csv.Writer
	cols []Column
	row  []string
}

func (c *csvWriter) Write(fields map[string]any) error {
	for i, col := range c.cols {
		v := fields[col.Name]
		if t, ok := v.(time.Time); ok && col.Type == TypeDate {
			c.row[i] = t.Format(time.DateOnly)
		} else {
			c.row[i] = Text(v)
		}
	}
	return c.w.Write(c.row)
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

type jsonlWriter struct {
	w    *bufio.Writer
	cols []Column
	buf  []byte
}

func (j *jsonlWriter) Write(fields map[string]any) error {
	j.buf = append(j.buf[:0], '{')
	for i, col := range j.cols {
		if i > 0 {
			j.buf = append(j.buf, ',')
		}
		name, _ := json.Marshal(col.Name)
		j.buf = append(j.buf, name...)
		j.buf = append(j.buf, ':')
		v := fields[col.Name]
		switch x := v.(type) {
		case time.Time:
			if col.Type == TypeDate {
				v = x.Format(time.DateOnly)
			} else {
				v = x.UTC().Format(time.RFC3339Nano)
			}
		case string:
			if col.Type == TypeDecimal {
				v = json.Number(x)
			}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("column %s: %w", col.Name, err)
		}
		j.buf = append(j.buf, b...)
	}
	j.buf = append(j.buf, '}', '\n')
	_, err := j.w.Write(j.buf)
	return err
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }

// parquetWriter writes optional columns typed from the job's columns. Decimals
// are written as strings so that no precision is lost.
type parquetWriter struct {
	w     *parquet.Writer
	cols  []Column // sorted by name, the schema's leaf order
	batch []parquet.Row
}

func parquetNode(typ string) parquet.Node {
	switch typ {
	case TypeInt:
		return parquet.Int(64)
	case TypeFloat:
		return parquet.Leaf(parquet.DoubleType)
	case TypeBool:
		return parquet.Leaf(parquet.BooleanType)
	case TypeDateTime:
		return parquet.Timestamp(parquet.Microsecond)
	case TypeDate:
		return parquet.Date()
	}
	return parquet.String()
}

func newParquetWriter(w io.Writer, cols []Column) *parquetWriter {
	group := parquet.Group{}
	for _, c := range cols {
		group[c.Name] = parquet.Optional(parquetNode(c.Type))
	}
	schema := parquet.NewSchema("row", group)
	sorted := append([]Column(nil), cols...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	return &parquetWriter{w: parquet.NewWriter(w, schema), cols: sorted}
}

func (p *parquetWriter) Write(fields map[string]any) error {
	row := make(parquet.Row, len(p.cols))
	for i, c := range p.cols {
		v, err := parquetValue(c.Type, fields[c.Name])
		if err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
		if v.IsNull() {
			row[i] = v.Level(0, 0, i)
		} else {
			row[i] = v.Level(0, 1, i)
		}
	}
	p.batch = append(p.batch, row)
	if len(p.batch) >= 1024 {
		return p.flush()
	}
	return nil
}

func (p *parquetWriter) flush() error {
	if len(p.batch) == 0 {
		return nil
	}
	_, err := p.w.WriteRows(p.batch)
	p.batch = p.batch[:0]
	return err
}

func parquetValue(typ string, v any) (parquet.Value, error) {
	if v == nil {
		return parquet.NullValue(), nil
	}
	switch typ {
	case TypeInt:
		if x, ok := v.(int64); ok {
			return parquet.Int64Value(x), nil
		}
	case TypeFloat:
		if x, ok := v.(float64); ok {
			return parquet.DoubleValue(x), nil
		}
	case TypeBool:
		if x, ok := v.(bool); ok {
			return parquet.BooleanValue(x), nil
		}
	case TypeDateTime:
		if x, ok := v.(time.Time); ok {
			return parquet.Int64Value(x.UnixMicro()), nil
		}
	case TypeDate:
		if x, ok := v.(time.Time); ok {
			days := time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
			return parquet.Int32Value(int32(days)), nil
		}
	default:
		return parquet.ByteArrayValue([]byte(Text(v))), nil
	}
	return parquet.Value{}, fmt.Errorf("value %v (%T) is not of type %s", v, v, typ)
}

func (p *parquetWriter) Close() error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.Close()
}
