package job

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
)

// fileSink writes one file per run, under a temporary name renamed into place
// when complete, so that nobody reads half a file. The synapse layout follows
// Synapse Link for Dataverse's incremental folders: every run writes a
// timestamped folder holding model.json and a folder per table with its
// partition, CSV without a header (the manifest names the columns), and an
// IsDelete column for deletions.
type fileSink struct {
	sk       Sink
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
	// upload sends the finished output to a remote SFTP folder.
	upload func(local string) error
}

const isDeleteColumn = "IsDelete"

func openFileSink(sk Sink, p sinkPlan, now time.Time) (*fileSink, error) {
	s := &fileSink{sk: sk, key: p.key, dataCols: p.cols, cols: p.cols, now: now.UTC(), runID: p.runID}
	if err := os.MkdirAll(sk.Path, 0o755); err != nil {
		return nil, err
	}
	ext := sk.Format
	stamp := s.now.Format("20060102T150405Z")
	if sk.Layout == "synapse" {
		if sk.Deletes != "ignore" {
			s.cols = append(append([]format.Column(nil), p.cols...), format.Column{Name: isDeleteColumn, Type: format.TypeBool})
		}
		folder := s.now.Format("2006-01-02T15.04.05.000Z")
		s.tmpDir = filepath.Join(sk.Path, "."+folder+fmt.Sprintf(".%d.tmp", p.runID))
		os.RemoveAll(s.tmpDir)
		if err := os.MkdirAll(filepath.Join(s.tmpDir, sk.Name), 0o755); err != nil {
			return nil, err
		}
		s.final = filepath.Join(sk.Path, folder)
		s.tmpPath = filepath.Join(s.tmpDir, sk.Name, fmt.Sprintf("%s_%d.%s", sk.Name, p.runID, ext))
	} else {
		name := fmt.Sprintf("%s_%s_%d.%s", sk.Name, stamp, p.runID, ext)
		s.final = filepath.Join(sk.Path, name)
		s.tmpPath = filepath.Join(sk.Path, "."+name+".tmp")
	}
	f, err := os.Create(s.tmpPath)
	if err != nil {
		return nil, err
	}
	s.f = f
	if sk.Layout == "synapse" {
		s.w, err = format.NewHeaderlessWriter(f, sk.Format, s.cols)
	} else {
		s.w, err = format.NewWriter(f, sk.Format, s.cols)
	}
	if err != nil {
		s.Abort()
		return nil, err
	}
	return s, nil
}

func (s *fileSink) Resolve(context.Context, Lookup, string) (any, bool, error) {
	return nil, false, fmt.Errorf("a file sink has no rows to resolve lookups against")
}

func (s *fileSink) Apply(_ context.Context, rows []Row) (Counts, []Reject, error) {
	// A key written twice in one chunk (a delta source that saw several
	// changes of a row) is written once, with its last values: what the
	// reconciliation compares against, and what SQL sinks keep.
	if len(s.key) > 0 {
		rows = dedupe(s.key, rows)
	}
	var c Counts
	for _, r := range rows {
		if r.Deleted {
			if s.sk.Deletes == "ignore" {
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

func (s *fileSink) Verify(context.Context, []Row) (map[string][32]byte, bool, error) {
	return nil, false, nil
}

// Finish closes the file, reads it back into a tally, and renames it into place.
func (s *fileSink) Finish(context.Context) (*tally, error) {
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
	if s.upload != nil {
		if err := s.upload(s.final); err != nil {
			return nil, fmt.Errorf("sftp: %w", err)
		}
	}
	return t, nil
}

// readBack tallies the written rows that are not deletions the way the
// runner tallied the source rows.
func (s *fileSink) readBack() (*tally, error) {
	f, err := os.Open(s.tmpPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &tally{}
	if s.sk.Format == "parquet" {
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			return nil, err
		}
		t.Rows = -pf.NumRows() // rows only: the runner compares counts for Parquet
		return t, nil
	}
	o := format.Options{Format: s.sk.Format, MaxRecordBytes: 64 << 20}
	if s.sk.Format == "csv" && s.tmpDir != "" {
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
		if d, _ := convert(rec.Fields[isDeleteColumn], format.TypeBool, ""); d == true {
			continue
		}
		vals := make(map[string]any, len(s.dataCols))
		for _, c := range s.dataCols {
			v, err := convert(rec.Fields[c.Name], c.Type, "")
			if err != nil {
				return nil, fmt.Errorf("line %d, column %s: %w", rec.Line, c.Name, err)
			}
			vals[c.Name] = v
		}
		t.add(keyOf(s.key, vals), rowHash(s.dataCols, vals))
	}
}

var cdmTypes = map[string]string{
	format.TypeString: "string", format.TypeInt: "int64", format.TypeFloat: "double", format.TypeDecimal: "decimal",
	format.TypeBool: "boolean", format.TypeDateTime: "dateTime", format.TypeDate: "date", format.TypeGUID: "guid",
}

func (s *fileSink) writeManifest() error {
	attrs := make([]map[string]any, len(s.cols))
	for i, c := range s.cols {
		attrs[i] = map[string]any{"name": c.Name, "dataType": cdmTypes[c.Type]}
	}
	partition := map[string]any{
		"name":     fmt.Sprintf("%s_%d", s.sk.Name, s.runID),
		"location": fmt.Sprintf("%s/%s_%d.%s", s.sk.Name, s.sk.Name, s.runID, s.sk.Format),
	}
	if s.sk.Format == "csv" {
		partition["fileFormatSettings"] = map[string]any{"$type": "CsvFormatSettings", "columnHeaders": false, "delimiter": ",", "quoteStyle": "QuoteStyle.Csv", "csvStyle": "CsvStyle.QuoteAlways"}
	}
	model := map[string]any{
		"name":         "cdm",
		"description":  "cdm",
		"version":      "1.0",
		"modifiedTime": s.now.Format(time.RFC3339Nano),
		"entities": []map[string]any{{
			"$type":      "LocalEntity",
			"name":       s.sk.Name,
			"attributes": attrs,
			"partitions": []map[string]any{partition},
		}},
	}
	b, _ := json.MarshalIndent(model, "", "  ")
	return os.WriteFile(filepath.Join(s.tmpDir, "model.json"), b, 0o644)
}

func (s *fileSink) Abort() {
	if s.f != nil {
		s.f.Close()
	}
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	} else if s.tmpPath != "" {
		os.Remove(s.tmpPath)
	}
}
