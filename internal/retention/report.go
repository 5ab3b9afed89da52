package retention

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"junction/internal/store"
)

// Group names the tables of one part of Junction, as the storage report
// shows it.
type Group struct {
	Name string // "workflow runs"
	// Tables are its tables by exact name; Prefix takes every table whose
	// name starts with it instead, each also listed on its own under its
	// name without the prefix (Dataverse tables: rec_account is account).
	Tables []string
	Prefix string
	// Setting is the retention setting that bounds it, if any.
	Setting string
}

// Report is what takes the space, with the retention in force.
type Report struct {
	Store string    `json:"store"` // sqlite or postgres
	At    time.Time `json:"at"`
	// Bytes is every table and index of Junction's (PostgreSQL: in its
	// schema); free SQLite pages are in File.
	Bytes      int64             `json:"bytes"`
	File       *File             `json:"file,omitempty"`
	Disk       *Disk             `json:"disk,omitempty"`
	Components []Component       `json:"components"`
	Tables     []Table           `json:"tables"`
	Broker     []Entity          `json:"broker"`
	Consumers  []Consumer        `json:"consumers"`
	Retention  map[string]string `json:"retention"` // the settings in force, by key
	LastPass   *Pass             `json:"lastPass,omitempty"`
}

// Component is one part of Junction's share.
type Component struct {
	Name      string   `json:"name"`
	Tables    []string `json:"tables"`
	Rows      int64    `json:"rows"`
	Bytes     int64    `json:"bytes"`
	Retention string   `json:"retention,omitempty"` // "90d", "forever"; empty when nothing ages out
}

// Table is one Dataverse table.
type Table struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Entity is one broker queue or subscription: messages and their bytes
// (bodies and properties).
type Entity struct {
	Path       string `json:"path"`
	Kind       string `json:"kind"`
	Active     int64  `json:"active"`
	Scheduled  int64  `json:"scheduled"`
	DeadLetter int64  `json:"deadLetter"`
	Messages   int64  `json:"messages"`
	Bytes      int64  `json:"bytes"`
}

// Consumer is a reader of the change log and how far it has read.
type Consumer struct {
	Name     string `json:"name"`
	Position int64  `json:"position"`
	Behind   int64  `json:"behind"` // changes after its position
	Lost     bool   `json:"lost"`   // retention deleted changes it had not read; it resyncs
}

// File is the SQLite database file.
type File struct {
	Path       string `json:"path"`
	Bytes      int64  `json:"bytes"` // pages × page size, those still in the WAL included
	WALBytes   int64  `json:"walBytes"`
	FreeBytes  int64  `json:"freeBytes"` // free pages not yet given back
	AutoVacuum string `json:"autoVacuum"`
}

// Disk is the file system of the data folder.
type Disk struct {
	Path       string `json:"path"`
	FreeBytes  int64  `json:"freeBytes"`
	TotalBytes int64  `json:"totalBytes"`
}

// ReportOptions say where the report looks.
type ReportOptions struct {
	Groups []Group
	// Entities lists the broker's queues and subscriptions with their
	// messages; nil leaves them out.
	Entities func(ctx context.Context) ([]Entity, error)
	// Consumers lists the change log's readers; nil leaves them out.
	Consumers func(ctx context.Context) ([]Consumer, error)
	// SQLitePath is the database file, DataDir the data folder.
	SQLitePath, DataDir string
	// MaxAge is how long a report is reused (default 30s): counting rows and
	// pages reads whole tables.
	MaxAge time.Duration
}

// reporter caches the last report.
type reporter struct {
	mu   sync.Mutex
	last *Report
}

// Report measures what takes the space, or returns one measured less than
// MaxAge ago unless fresh.
func (w *Worker) Report(ctx context.Context, fresh bool) (*Report, error) {
	w.rep.mu.Lock()
	defer w.rep.mu.Unlock()
	maxAge := w.o.Report.MaxAge
	if maxAge <= 0 {
		maxAge = 30 * time.Second
	}
	if !fresh && w.rep.last != nil && time.Since(w.rep.last.At) < maxAge {
		return w.rep.last, nil
	}
	r, err := w.measure(ctx)
	if err != nil {
		return nil, err
	}
	w.rep.last = r
	return r, nil
}

func (w *Worker) measure(ctx context.Context) (*Report, error) {
	ro := w.o.Report
	st := w.o.Store
	r := &Report{Store: string(st.Dialect()), At: time.Now().UTC(), Components: []Component{}, Tables: []Table{},
		Broker: []Entity{}, Consumers: []Consumer{}, Retention: map[string]string{}, LastPass: w.Last()}
	var stats map[string]tableStat
	err := st.Read(ctx, func(q store.Querier) error {
		var err error
		if stats, err = tableStats(ctx, q); err != nil {
			return err
		}
		if st.Dialect() == store.SQLite && ro.SQLitePath != "" {
			r.File, err = sqliteFile(ctx, q, ro.SQLitePath)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("measure storage: %w", err)
	}
	for _, s := range stats {
		r.Bytes += s.bytes
	}
	if ro.DataDir != "" {
		var fs syscall.Statfs_t
		if syscall.Statfs(ro.DataDir, &fs) == nil {
			r.Disk = &Disk{Path: ro.DataDir, FreeBytes: int64(fs.Bavail) * int64(fs.Bsize), TotalBytes: int64(fs.Blocks) * int64(fs.Bsize)}
		}
	}
	settings := w.Settings()
	for _, f := range fields {
		r.Retention[f.Key] = f.period(&settings).String()
	}
	claimed := map[string]bool{}
	for _, g := range ro.Groups {
		c := Component{Name: g.Name, Tables: []string{}}
		if g.Setting != "" {
			c.Retention = settings.period(g.Setting).String()
		}
		for name, s := range stats {
			if !g.has(name) {
				continue
			}
			claimed[name] = true
			c.Tables = append(c.Tables, name)
			c.Rows += s.rows
			c.Bytes += s.bytes
			if g.Prefix != "" {
				r.Tables = append(r.Tables, Table{Name: strings.TrimPrefix(name, g.Prefix), Rows: s.rows, Bytes: s.bytes})
			}
		}
		sort.Strings(c.Tables)
		r.Components = append(r.Components, c)
	}
	other := Component{Name: "other", Tables: []string{}}
	for name, s := range stats {
		if !claimed[name] {
			other.Tables = append(other.Tables, name)
			other.Rows += s.rows
			other.Bytes += s.bytes
		}
	}
	if len(other.Tables) > 0 {
		sort.Strings(other.Tables)
		r.Components = append(r.Components, other)
	}
	sort.Slice(r.Tables, func(i, j int) bool { return r.Tables[i].Name < r.Tables[j].Name })
	if ro.Entities != nil {
		if r.Broker, err = ro.Entities(ctx); err != nil {
			return nil, fmt.Errorf("measure broker entities: %w", err)
		}
	}
	if ro.Consumers != nil {
		if r.Consumers, err = ro.Consumers(ctx); err != nil {
			return nil, fmt.Errorf("measure change log consumers: %w", err)
		}
	}
	return r, nil
}

func (g Group) has(table string) bool {
	if g.Prefix != "" {
		return strings.HasPrefix(table, g.Prefix)
	}
	for _, t := range g.Tables {
		if t == table {
			return true
		}
	}
	return false
}

type tableStat struct{ rows, bytes int64 }

// tableStats counts every table's rows and the bytes of its pages and its
// indexes': SQLite's dbstat virtual table, PostgreSQL's
// pg_total_relation_size (TOAST included).
func tableStats(ctx context.Context, q store.Querier) (map[string]tableStat, error) {
	sizes := `SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat AS s JOIN sqlite_master AS m ON m.name = s.name
		WHERE s.aggregate = TRUE GROUP BY m.tbl_name`
	if q.Dialect() == store.Postgres {
		sizes = `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()`
	}
	type sized struct {
		name  string
		bytes int64
	}
	list, err := store.Collect(ctx, q, func(r *sql.Rows) (sized, error) {
		var s sized
		err := r.Scan(&s.name, &s.bytes)
		return s, err
	}, sizes)
	if err != nil {
		return nil, err
	}
	out := map[string]tableStat{}
	for _, s := range list {
		var rows int64
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM "`+strings.ReplaceAll(s.name, `"`, `""`)+`"`).Scan(&rows); err != nil {
			return nil, fmt.Errorf("count %s: %w", s.name, err)
		}
		out[s.name] = tableStat{rows: rows, bytes: s.bytes}
	}
	return out, nil
}

// sqliteFile measures the database file and its WAL.
func sqliteFile(ctx context.Context, q store.Querier, path string) (*File, error) {
	f := &File{Path: path}
	var pageSize, pages, free, mode int64
	for _, p := range []struct {
		pragma string
		v      *int64
	}{{"page_size", &pageSize}, {"page_count", &pages}, {"freelist_count", &free}, {"auto_vacuum", &mode}} {
		if err := q.QueryRow(ctx, "PRAGMA "+p.pragma).Scan(p.v); err != nil {
			return nil, err
		}
	}
	// The database's size counts pages still in the write-ahead log, which
	// the file on disk gains at the next checkpoint.
	f.Bytes = pages * pageSize
	f.FreeBytes = free * pageSize
	f.AutoVacuum = map[int64]string{0: "none", 1: "full", 2: "incremental"}[mode]
	if fi, err := os.Stat(path + "-wal"); err == nil {
		f.WALBytes = fi.Size()
	}
	return f, nil
}
