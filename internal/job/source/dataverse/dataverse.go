// Package dataverse is the source of a job that reads a table of a
// Dataverse org (or of this Junction) through its Web API: in full with an
// OData filter, or its changes by change tracking.
package dataverse

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	dv "junction/internal/dataverse"
	"junction/internal/job/format"
	"junction/internal/job/source/file"
)

// Table is what a source reads of an org.
type Table struct {
	Name   string   // logical or entity set name
	Select []string // the columns to read (default all)
	Filter string   // an OData filter of full reads
	Delta  bool     // read the changes since the last run's delta link
}

// ColumnType is the job type (format.Type*) of a Dataverse AttributeType.
func ColumnType(attributeType string) string {
	switch strings.ToLower(attributeType) {
	case "integer", "bigint", "picklist", "state", "status":
		return format.TypeInt
	case "decimal", "money":
		return format.TypeDecimal
	case "double":
		return format.TypeFloat
	case "boolean":
		return format.TypeBool
	case "datetime":
		return format.TypeDateTime
	case "uniqueidentifier", "lookup", "customer", "owner":
		return format.TypeGUID
	}
	return format.TypeString
}

// FieldName is the name a column has in the Web API's rows: lookups are
// _name_value.
func FieldName(a dv.Attribute) string {
	if a.IsLookup() {
		return "_" + a.LogicalName + "_value"
	}
	return a.LogicalName
}

// pageSize is how many rows a source asks for a page.
const pageSize = 5000

// spoolLine is one line of a spool: the columns (first line), a changed row,
// a deleted row's id, or the delta link reached (last line).
type spoolLine struct {
	Columns   []format.Column `json:"c,omitempty"`
	PrimaryID string          `json:"p,omitempty"`
	Row       map[string]any  `json:"r,omitempty"`
	Deleted   string          `json:"d,omitempty"`
	DeltaLink *string         `json:"w,omitempty"`
}

// Open reads the org's table into the spool file (unless an earlier pass of
// the run did) and returns a reader of the spool. The spool is where a run
// keeps what it read from an org, so that its validation and apply passes,
// and a resumed attempt on the same node, read the same rows in the same
// order. from is the delta link of the last run. client gives the org's
// client, asked only when the spool is to be filled.
func Open(ctx context.Context, client func() (*dv.Client, error), src Table, spool, from string) (*Reader, error) {
	if _, err := os.Stat(spool); err != nil {
		c, err := client()
		if err != nil {
			return nil, err
		}
		if err := fill(ctx, c, src, spool, from); err != nil {
			return nil, err
		}
	}
	return openSpool(spool)
}

func fill(ctx context.Context, c *dv.Client, src Table, spool, from string) error {
	e, err := c.Entity(ctx, src.Name)
	if err != nil {
		return err
	}
	var cols []format.Column
	var sel []string
	if len(src.Select) > 0 {
		for _, name := range src.Select {
			a, ok := e.Attribute(name)
			if !ok {
				return fmt.Errorf("source.select: the table %s has no column %s", e.LogicalName, name)
			}
			sel = append(sel, FieldName(a))
			cols = append(cols, format.Column{Name: FieldName(a), Type: ColumnType(a.Type)})
		}
	} else {
		for _, a := range e.Attributes {
			cols = append(cols, format.Column{Name: FieldName(a), Type: ColumnType(a.Type)})
		}
	}
	f, err := os.Create(spool + ".part")
	if err != nil {
		return err
	}
	defer os.Remove(spool + ".part")
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<16)
	enc := json.NewEncoder(w)
	if err := enc.Encode(spoolLine{Columns: cols, PrimaryID: e.PrimaryIDAttribute}); err != nil {
		return err
	}
	writeRows := func(rows []dv.Record) error {
		for _, r := range rows {
			row := make(map[string]any, len(r))
			for k, v := range r {
				if !strings.Contains(k, "@") {
					row[k] = v
				}
			}
			if err := enc.Encode(spoolLine{Row: row}); err != nil {
				return err
			}
		}
		return nil
	}
	link := ""
	if src.Delta {
		link, err = c.TrackPages(ctx, e.EntitySetName, sel, from, pageSize, func(changed []dv.Record, deleted []string) error {
			if err := writeRows(changed); err != nil {
				return err
			}
			for _, id := range deleted {
				if err := enc.Encode(spoolLine{Deleted: id}); err != nil {
					return err
				}
			}
			return nil
		})
		var de *dv.Error
		if err != nil && from != "" && errors.As(err, &de) && (de.Status == http.StatusBadRequest || de.Status == http.StatusGone) {
			return fmt.Errorf("the org refused the delta link of the last run: %w (it keeps them for a limited time; DELETE /admin/v1/jobs/NAME/watermark makes the next run read the table in full)", err)
		}
	} else {
		q := url.Values{}
		if len(sel) > 0 {
			q.Set("$select", strings.Join(sel, ","))
		}
		if src.Filter != "" {
			q.Set("$filter", src.Filter)
		}
		err = c.Query(ctx, e.EntitySetName, q, pageSize, writeRows)
	}
	if err != nil {
		return err
	}
	if err := enc.Encode(spoolLine{DeltaLink: &link}); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(spool+".part", spool)
}

// Reader reads a complete spool.
type Reader struct {
	*file.Counted
	dec  *json.Decoder
	cols []format.Column
	pk   string
	link string
	line int64
}

func openSpool(path string) (*Reader, error) {
	cf, err := file.OpenCounted(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{Counted: cf, dec: json.NewDecoder(bufio.NewReaderSize(cf, 1<<16))}
	r.dec.UseNumber()
	var first spoolLine
	if err := r.dec.Decode(&first); err != nil {
		cf.Close()
		return nil, fmt.Errorf("the spool %s is damaged: %w", path, err)
	}
	r.cols, r.pk = first.Columns, first.PrimaryID
	return r, nil
}

// Next returns the next row read from the org, or the next deletion.
func (r *Reader) Next(context.Context) (format.Record, bool, error) {
	var l spoolLine
	if err := r.dec.Decode(&l); err != nil {
		return format.Record{}, false, fmt.Errorf("read the spool: %w", err)
	}
	if l.DeltaLink != nil {
		r.link = *l.DeltaLink
		return format.Record{}, false, io.EOF
	}
	r.line++
	if l.Deleted != "" {
		return format.Record{Line: r.line, Fields: map[string]any{r.pk: l.Deleted}}, true, nil
	}
	return format.Record{Line: r.line, Fields: l.Row}, false, nil
}

// Columns are the columns read, typed by the table's definition.
func (r *Reader) Columns() []format.Column { return r.cols }

// Watermark is the delta link reached, once the spool has been read.
func (r *Reader) Watermark() string { return r.link }
