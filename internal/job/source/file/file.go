// Package file is the source of a job that reads a file (CSV, XML, JSON or
// JSON Lines) from start to end, with its progress by the bytes read.
package file

import (
	"context"
	"os"
	"sync/atomic"

	"junction/internal/job/format"
)

// Counted is an open file that counts the bytes read from it, for the
// progress of the readers that read it from start to end.
type Counted struct {
	f    *os.File
	size int64
	n    atomic.Int64
}

// OpenCounted opens the file at path.
func OpenCounted(path string) (*Counted, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Counted{f: f, size: st.Size()}, nil
}

// Read reads from the file, counting the bytes.
func (c *Counted) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Close closes the file.
func (c *Counted) Close() error { return c.f.Close() }

// Progress is the share of the file read so far, 0..1.
func (c *Counted) Progress() float64 {
	if c.size == 0 {
		return 1
	}
	return min(1, float64(c.n.Load())/float64(c.size))
}

// Reader reads the records of a file in one of the formats.
type Reader struct {
	*Counted
	r format.Reader
}

// Open opens the file at path to read with o.
func Open(path string, o format.Options) (*Reader, error) {
	cf, err := OpenCounted(path)
	if err != nil {
		return nil, err
	}
	r, err := format.NewReader(cf, o)
	if err != nil {
		cf.Close()
		return nil, err
	}
	return &Reader{Counted: cf, r: r}, nil
}

// Next returns the next record; a file holds no deletions.
func (f *Reader) Next(context.Context) (format.Record, bool, error) {
	rec, err := f.r.Next()
	return rec, false, err
}

// Columns is nil: a file's columns are named by the job's mapping.
func (f *Reader) Columns() []format.Column { return nil }

// Watermark is empty: a file is read whole.
func (f *Reader) Watermark() string { return "" }
