// Package file is the sink of a job into files: CSV, JSON Lines or Parquet,
// one file a run or a Synapse Link–like folder a run.
package file

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/parquet-go/parquet-go"

	"junction/internal/job/format"
	"junction/internal/job/sink"
)

// Output is where and how a sink writes.
type Output struct {
	Path   string // the folder
	Format string // csv, jsonl or parquet
	Layout string // plain or synapse
	Name   string // the file's (or the synapse table's) name
	// Deletes is ignore (deletions are left out) or anything else (they are
	// written, as IsDelete rows in the synapse layout).
	Deletes string
}

// Sink writes one file per run, under a temporary name renamed into place
// when complete, so that nobody reads half a file. The synapse layout follows
// Synapse Link for Dataverse's incremental folders: every run writes a
// timestamped folder holding model.json and a folder per table with its
// partition, CSV without a header (the manifest names the columns), and an
// IsDelete column for deletions.
type Sink struct {
	out      Output
	cols     []format.Column // as written (plus IsDelete in synapse layout)
	key      []string
	dataCols []format.Column
	now      time.Time
	runID    int64
	tmpDir   string // synapse: the whole timestamped folder is renamed at the end
	tmpPath  string
	final    string
	f        *os.File
	w        format.Writer
	// Upload, when set, sends the finished output (a file or a synapse
	// folder) elsewhere, such as to a remote SFTP folder.
	Upload func(local string) error
}

const isDeleteColumn = "IsDelete"

// Open creates the run's file under a temporary name; now stamps its name.
func Open(out Output, p sink.Plan, now time.Time) (*Sink, error) {
	s := &Sink{out: out, key: p.Key, dataCols: p.Cols, cols: p.Cols, now: now.UTC(), runID: p.RunID}
	if err := os.MkdirAll(out.Path, 0o755); err != nil {
		return nil, err
	}
	ext := out.Format
	stamp := s.now.Format("20060102T150405Z")
	if out.Layout == "synapse" {
		if out.Deletes != "ignore" {
			s.cols = append(append([]format.Column(nil), p.Cols...), format.Column{Name: isDeleteColumn, Type: format.TypeBool})
		}
		folder := s.now.Format("2006-01-02T15.04.05.000Z")
		s.tmpDir = filepath.Join(out.Path, "."+folder+fmt.Sprintf(".%d.tmp", p.RunID))
		os.RemoveAll(s.tmpDir)
		if err := os.MkdirAll(filepath.Join(s.tmpDir, out.Name), 0o755); err != nil {
			return nil, err
		}
		s.final = filepath.Join(out.Path, folder)
		s.tmpPath = filepath.Join(s.tmpDir, out.Name, fmt.Sprintf("%s_%d.%s", out.Name, p.RunID, ext))
	} else {
		name := fmt.Sprintf("%s_%s_%d.%s", out.Name, stamp, p.RunID, ext)
		s.final = filepath.Join(out.Path, name)
		s.tmpPath = filepath.Join(out.Path, "."+name+".tmp")
	}
	f, err := os.Create(s.tmpPath)
	if err != nil {
		return nil, err
	}
	s.f = f
	if out.Layout == "synapse" {
		s.w, err = format.NewHeaderlessWriter(f, out.Format, s.cols)
	} else {
		s.w, err = format.NewWriter(f, out.Format, s.cols)
	}
	if err != nil {
		s.Abort()
		return nil, err
	}
	return s, nil
}

// Resolve fails: a file holds no rows to look values up in.
func (s *Sink) Resolve(context.Context, sink.Lookup, string) (any, bool, error) {
	return nil, false, fmt.Errorf("a file sink has no rows to resolve lookups against")
}

// Apply writes the chunk's rows to the file.
func (s *Sink) Apply(_ context.Context, rows []sink.Row) (sink.Counts, []sink.Reject, error) {
	// A key written twice in one chunk (a delta source that saw several
	// changes of a row) is written once, with its last values: what the
	// reconciliation compares against, and what SQL sinks keep.
	if len(s.key) > 0 {
		rows = sink.Dedupe(s.key, rows)
	}
	var c sink.Counts
	for _, r := range rows {
		if r.Deleted {
			if s.out.Deletes == "ignore" {
				continue
			}
			c.Deleted++
		} else {
			c.Inserted++
		}
		vals := r.Values
		if len(s.cols) > len(s.dataCols) {
			vals = make(map[string]any, len(r.Values)+1)
			for k, v := range r.Values {
				vals[k] = v
			}
			vals[isDeleteColumn] = r.Deleted
		}
		if err := s.w.Write(vals); err != nil {
			return c, nil, err
		}
	}
	return c, nil, nil
}

// Verify cannot read by key (false): Finish tallies the file instead.
func (s *Sink) Verify(context.Context, []sink.Row) (map[string][32]byte, bool, error) {
	return nil, false, nil
}

// Finish closes the file, reads it back into a tally, and renames it into place.
func (s *Sink) Finish(context.Context) (*sink.Tally, error) {
	if err := s.w.Close(); err != nil {
		s.Abort()
		return nil, err
	}
	if err := s.f.Sync(); err != nil {
		s.Abort()
		return nil, err
	}
	s.f.Close()
	t, err := s.readBack()
	if err != nil {
		s.Abort()
		return nil, fmt.Errorf("read back %s: %w", s.tmpPath, err)
	}
	if s.tmpDir != "" {
		if err := s.writeManifest(); err != nil {
			s.Abort()
			return nil, err
		}
		if err := os.Rename(s.tmpDir, s.final); err != nil {
			s.Abort()
			return nil, err
		}
	} else if err := os.Rename(s.tmpPath, s.final); err != nil {
		s.Abort()
		return nil, err
	}
	if s.Upload != nil {
		if err := s.Upload(s.final); err != nil {
			return nil, fmt.Errorf("sftp: %w", err)
		}
	}
	return t, nil
}

// readBack tallies the written rows that are not deletions the way the
// runner tallied the source rows.
func (s *Sink) readBack() (*sink.Tally, error) {
	f, err := os.Open(s.tmpPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &sink.Tally{}
	if s.out.Format == "parquet" {
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			return nil, err
		}
		t.Rows = -pf.NumRows() // rows only: the runner compares counts for Parquet
		return t, nil
	}
	o := format.Options{Format: s.out.Format, MaxRecordBytes: 64 << 20}
	if s.out.Format == "csv" && s.tmpDir != "" {
		o.NoHeader = true
		for _, c := range s.cols {
			o.Columns = append(o.Columns, c.Name)
		}
	}
	r, err := format.NewReader(f, o)
	if err != nil {
		return nil, err
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		if d, _ := format.Convert(rec.Fields[isDeleteColumn], format.TypeBool, ""); d == true {
			continue
		}
		vals := make(map[string]any, len(s.dataCols))
		for _, c := range s.dataCols {
			v, err := format.Convert(rec.Fields[c.Name], c.Type, "")
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: %w", rec.Line, c.Name, err)
			}
			vals[c.Name] = v
		}
		t.Add(sink.KeyOf(s.key, vals), sink.Hash(s.dataCols, vals))
	}
}

var cdmTypes = map[string]string{
	format.TypeString: "string", format.TypeInt: "int64", format.TypeFloat: "double", format.TypeDecimal: "decimal",
	format.TypeBool: "boolean", format.TypeDateTime: "dateTime", format.TypeDate: "date", format.TypeGUID: "guid",
}

func (s *Sink) writeManifest() error {
	attrs := make([]map[string]any, len(s.cols))
	for i, c := range s.cols {
		attrs[i] = map[string]any{"name": c.Name, "dataType": cdmTypes[c.Type]}
	}
	partition := map[string]any{
		"name":     fmt.Sprintf("%s_%d", s.out.Name, s.runID),
		"location": fmt.Sprintf("%s/%s_%d.%s", s.out.Name, s.out.Name, s.runID, s.out.Format),
	}
	if s.out.Format == "csv" {
		partition["fileFormatSettings"] = map[string]any{"$type": "CsvFormatSettings", "columnHeaders": false, "delimiter": ",", "quoteStyle": "QuoteStyle.Csv", "csvStyle": "CsvStyle.QuoteAlways"}
	}
	model := map[string]any{
		"name":         "cdm",
		"description":  "cdm",
		"version":      "1.0",
		"modifiedTime": s.now.Format(time.RFC3339Nano),
		"entities": []map[string]any{{
			"$type":      "LocalEntity",
			"name":       s.out.Name,
			"attributes": attrs,
			"partitions": []map[string]any{partition},
		}},
	}
	b, _ := json.MarshalIndent(model, "", "  ")
	return os.WriteFile(filepath.Join(s.tmpDir, "model.json"), b, 0o644)
}

// Abort removes the unfinished output.
func (s *Sink) Abort() {
	if s.f != nil {
		s.f.Close()
	}
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	} else if s.tmpPath != "" {
		os.Remove(s.tmpPath)
	}
}
