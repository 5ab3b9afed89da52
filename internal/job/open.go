package job

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	dv "junction/internal/dataverse"
	"junction/internal/job/format"
	"junction/internal/job/sink"
	dvsink "junction/internal/job/sink/dataverse"
	filesink "junction/internal/job/sink/file"
	sftpsink "junction/internal/job/sink/sftp"
	sqlsink "junction/internal/job/sink/sql"
	tablesink "junction/internal/job/sink/table"
	dvsource "junction/internal/job/source/dataverse"
	filesource "junction/internal/job/source/file"
	sftpsource "junction/internal/job/source/sftp"
	sqlsource "junction/internal/job/source/sql"
	tablesource "junction/internal/job/source/table"
)

// The vocabulary a run shares with its sinks (package sink), under the names
// jobs have always given it.
type (
	// Row is a mapped row ready for a sink.
	Row = sink.Row
	// Reject is one problem with one row, as the rejects file lists it.
	Reject = sink.Reject
	// Counts are what a run did to the sink.
	Counts = sink.Counts
	// Lookup finds Return in Table where Key equals the value.
	Lookup = sink.Lookup
)

// TableSource reads Junction tables in full (the records service implements
// it). Delta reads come from the change log and need no TableSource.
type TableSource = tablesource.Tables

// TableSink writes Junction tables (the records service implements it): bulk
// upserts by alternate key with change-log entries, lookups by a readable key.
type TableSink = tablesink.Tables

// Tables is what the records service offers jobs.
type Tables interface {
	TableSource
	TableSink
}

// ColumnType is the job type (format.Type*) of a Dataverse AttributeType.
func ColumnType(attributeType string) string { return dvsource.ColumnType(attributeType) }

// reader yields source records in order. A deleted record is a deletion
// (only its key columns matter). Watermark is the greatest watermark read so
// far; Progress is 0..1 when known, -1 otherwise.
type reader interface {
	Next(ctx context.Context) (rec format.Record, deleted bool, err error)
	Columns() []format.Column
	Watermark() string
	Progress() float64
	Close() error
}

var (
	_ reader = (*filesource.Reader)(nil)
	_ reader = (*sqlsource.Reader)(nil)
	_ reader = (*tablesource.Changes)(nil)
	_ reader = (*tablesource.Reader)(nil)
	_ reader = (*dvsource.Reader)(nil)
)

// sourceOpener opens a source; a run may open it twice (validate, then apply).
// pin bounds a delta read to what the first pass saw.
type sourceOpener func(ctx context.Context, from, pin string) (reader, error)

// writer writes one run's rows.
type writer interface {
	Resolver
	// Apply writes one chunk of rows, atomically where the sink allows. Rows
	// the target refused, when the sink can tell them apart and the policy
	// accepts partial input, come back as rejects; the rest are applied.
	Apply(ctx context.Context, rows []Row) (Counts, []Reject, error)
	// Verify reads back the rows of the chunk just applied and returns the
	// checksum of each key found (reconciliation). Sinks that cannot read by
	// key return nil, false.
	Verify(ctx context.Context, rows []Row) (map[string][32]byte, bool, error)
	// Finish completes the output (renames files into place) and, for sinks
	// that cannot verify by key, returns the target's tally read back from it.
	Finish(ctx context.Context) (*sink.Tally, error)
	// Abort discards uncommitted output.
	Abort()
}

// rowChecker is a sink that can tell, before rows are applied, which of
// their values the target would refuse. The runner makes such a row a reject
// instead of letting it fail the chunk that holds it.
type rowChecker interface {
	// Check returns the problems with each row (out[i] for rows[i]); the
	// runner fills in the lines. An error is not about a row and ends the run.
	Check(ctx context.Context, rows []map[string]any) ([][]Reject, error)
}

var (
	_ writer     = (*sqlsink.Sink)(nil)
	_ writer     = (*filesink.Sink)(nil)
	_ writer     = (*tablesink.Sink)(nil)
	_ writer     = (*dvsink.Sink)(nil)
	_ rowChecker = (*tablesink.Sink)(nil)
	_ Resolver   = (*dvsink.Resolver)(nil)
)

// checkRows asks chk about rows and returns their rejects with their lines.
func checkRows(ctx context.Context, chk rowChecker, rows []Row) ([][]Reject, error) {
	values := make([]map[string]any, len(rows))
	for i, r := range rows {
		values[i] = r.Values
	}
	out, err := chk.Check(ctx, values)
	if err != nil {
		return nil, fmt.Errorf("lines %d to %d: check the rows against the sink: %w", rows[0].Line, rows[len(rows)-1].Line, err)
	}
	for i, rs := range out {
		for j := range rs {
			rs[j].Line = rows[i].Line
			rs[j].Value = sink.Truncate(rs[j].Value, 200)
		}
	}
	return out, nil
}

// folder resolves a job's source folder: a folder inside a built-in SFTP
// user's, a remote source's local inbox, or a folder inside a drop zone.
func (s *Service) folder(src Source) (string, error) {
	if src.SFTPUser != "" {
		if s.cfg.SFTP == nil {
			return "", errors.New("the built-in SFTP server is not configured")
		}
		if !sftpUserPattern.MatchString(src.SFTPUser) {
			return "", fmt.Errorf("sftpUser: %q is not a user name", src.SFTPUser)
		}
		dir, ok := s.cfg.SFTP.Folder(src.SFTPUser)
		if !ok {
			return "", fmt.Errorf("the built-in SFTP server has no user %q", src.SFTPUser)
		}
		full, err := Confine(dir, src.Path)
		if err != nil {
			return "", fmt.Errorf("source.path: %w", err)
		}
		return full, nil
	}
	if src.Type == "sftp" {
		key := "connection-" + src.Connection
		if src.Connection == "" {
			key = src.User + "@" + src.Address
		}
		return filepath.Join(s.cfg.DataDir, "jobs", "inbox", sanitizeFolderName(key)), nil
	}
	return s.localPath("source", src.DropZone, src.Path)
}

// localPath resolves a file source's or sink's folder: an absolute path as
// the project or the admin wrote it, else a path confined to its drop zone.
func (s *Service) localPath(where, zone, p string) (string, error) {
	if zone == "" && filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	root, err := s.zone(zone)
	if err != nil {
		return "", fmt.Errorf("%s.dropZone: %w", where, err)
	}
	full, err := Confine(root, p)
	if err != nil {
		return "", fmt.Errorf("%s.path: %w", where, err)
	}
	return full, nil
}

func (s *Service) expand(v string) (string, error) { return s.cfg.Secrets.Expand(v) }

// sqlTarget resolves a SQL source's or sink's driver and DSN, from its
// connection or inline, and refuses the store's own database.
func (s *Service) sqlTarget(where, conn, driver, dsn string) (string, string, error) {
	if conn != "" {
		c, err := s.connection(conn, "sql")
		if err != nil {
			return "", "", fmt.Errorf("%s.connection: %w", where, err)
		}
		driver, dsn = c.Driver, c.DSN
	}
	dsn, err := s.expand(dsn)
	if err != nil {
		return "", "", fmt.Errorf("%s.dsn: %w", where, err)
	}
	if err := s.cfg.OwnStore.refuse(driver, dsn); err != nil {
		return "", "", fmt.Errorf("%s.dsn: %w", where, err)
	}
	return driver, dsn, nil
}

// sftpLogin resolves a remote SFTP login, from its connection or inline.
func (s *Service) sftpLogin(where, conn string, l sftpsource.Login) (sftpsource.Login, error) {
	if conn == "" {
		return l, nil
	}
	c, err := s.connection(conn, "sftp")
	if err != nil {
		return l, fmt.Errorf("%s.connection: %w", where, err)
	}
	return sftpsource.Login{Address: c.Address, User: c.User, Password: c.Password, PrivateKey: c.PrivateKey, HostKey: c.HostKey}, nil
}

// dialSFTP connects to a remote SFTP server through the outbound policy.
func (s *Service) dialSFTP(l sftpsource.Login) (*sftpsource.Conn, error) {
	return sftpsource.Dial(l, s.expand, s.cfg.Outbound)
}

// opener returns how to read a run's source.
func (s *Service) opener(spec *Spec, run Run) (sourceOpener, error) {
	src := spec.Source
	switch src.Type {
	case "file", "sftp":
		if run.File == "" {
			return nil, errors.New("the run has no file: file jobs run once per file that arrives")
		}
		return func(ctx context.Context, from, pin string) (reader, error) {
			return filesource.Open(run.File, src.Read)
		}, nil
	case "sql":
		driver, dsn, err := s.sqlTarget("source", src.Connection, src.Driver, src.DSN)
		if err != nil {
			return nil, err
		}
		q := sqlsource.Query{Driver: driver, Query: src.Query, Watermark: src.Watermark, DeletedColumn: src.DeletedColumn}
		return func(ctx context.Context, from, pin string) (reader, error) {
			return sqlsource.Open(ctx, q, dsn, from, pin)
		}, nil
	case "table":
		if src.Delta {
			return func(ctx context.Context, from, pin string) (reader, error) {
				if s.cfg.Tables == nil {
					return tablesource.OpenChanges(ctx, s.cfg.Store, src.Table, from, pin, nil)
				}
				if from == "" { // the first delta run reads the table in full
					return tablesource.Open(ctx, s.cfg.Tables, src.Table)
				}
				cols, err := s.cfg.Tables.Columns(ctx, src.Table)
				if err != nil {
					return nil, err
				}
				return tablesource.OpenChanges(ctx, s.cfg.Store, src.Table, from, pin, cols)
			}, nil
		}
		return func(ctx context.Context, from, pin string) (reader, error) {
			return tablesource.Open(ctx, s.cfg.Tables, src.Table)
		}, nil
	case "dataverse":
		t := dvsource.Table{Name: src.Table, Select: src.Select, Filter: src.Filter, Delta: src.Delta}
		client := func() (*dv.Client, error) { return s.dataverse("source", src.Connection, src.Org) }
		return func(ctx context.Context, from, pin string) (reader, error) {
			return dvsource.Open(ctx, client, t, s.spoolPath(run.ID), from)
		}, nil
	}
	return nil, fmt.Errorf("unknown source type %q", src.Type)
}

// sinkPlan is what the sink is opened with: the mapped columns, or for jobs
// without a mapping the source's columns (read by opening the source once).
func (s *Service) sinkPlan(ctx context.Context, spec *Spec, run Run) (sink.Plan, error) {
	p := sink.Plan{Key: spec.Key, RunID: run.ID, Resume: run.Checkpoint > 0}
	if len(spec.Mapping) > 0 {
		m, err := newMapper(spec, nil, nil, nil)
		if err != nil {
			return p, err
		}
		p.Cols = m.cols
		return p, nil
	}
	open, err := s.opener(spec, run)
	if err != nil {
		return p, err
	}
	r, err := open(ctx, run.WatermarkFrom, run.WatermarkFrom)
	if err != nil {
		return p, err
	}
	defer r.Close()
	p.Cols = r.Columns()
	if len(p.Cols) == 0 {
		return p, errors.New("the source does not name its columns: give the job a mapping")
	}
	return p, nil
}

func (s *Service) openSink(ctx context.Context, spec *Spec, run Run) (writer, error) {
	p, err := s.sinkPlan(ctx, spec, run)
	if err != nil {
		return nil, err
	}
	sk := spec.Sink
	switch sk.Type {
	case "sql":
		return s.openSQLSink(ctx, spec, p, true)
	case "file":
		dir, err := s.localPath("sink", sk.DropZone, sk.Path)
		if err != nil {
			return nil, err
		}
		var login sftpsource.Login
		if t := sk.SFTP; t != nil {
			if login, err = s.sftpLogin("sink.sftp", t.Connection, sftpsource.Login{Address: t.Address, User: t.User, Password: t.Password, PrivateKey: t.PrivateKey, HostKey: t.HostKey}); err != nil {
				return nil, err
			}
		}
		fs, err := filesink.Open(filesink.Output{Path: dir, Format: sk.Format, Layout: sk.Layout, Name: sk.Name, Deletes: sk.Deletes}, p, s.now())
		if err != nil {
			return nil, err
		}
		if t := sk.SFTP; t != nil {
			fs.Upload = func(local string) error {
				conn, err := s.dialSFTP(login)
				if err != nil {
					return err
				}
				defer conn.Close()
				return sftpsink.Upload(conn.Client, local, t.Path)
			}
		}
		return fs, nil
	case "table":
		return s.openTableSink(ctx, spec, p)
	case "dataverse":
		c, err := s.dataverse("sink", sk.Connection, sk.Org)
		if err != nil {
			return nil, err
		}
		lookups := map[string]string{}
		for _, m := range spec.Mapping {
			if m.Lookup != nil {
				lookups[m.To] = m.Lookup.Table
			}
		}
		return dvsink.Open(ctx, c, dvsink.Target{Table: sk.Table, Deletes: sk.Deletes, DeletedColumn: sk.DeletedColumn,
			Write: sk.Write, BatchSize: sk.BatchSize, Writers: sk.Writers, PerRow: spec.Policy.OnError == "accept", Lookups: lookups}, p)
	}
	return nil, fmt.Errorf("unknown sink type %q", sk.Type)
}

// openSQLSink opens a SQL sink; with prepare its table is created or altered
// to match, without it only resolves lookups.
func (s *Service) openSQLSink(ctx context.Context, spec *Spec, p sink.Plan, prepare bool) (*sqlsink.Sink, error) {
	sk := spec.Sink
	driver, dsn, err := s.sqlTarget("sink", sk.Connection, sk.Driver, sk.DSN)
	if err != nil {
		return nil, err
	}
	return sqlsink.Open(ctx, sqlsink.Table{Driver: driver, Name: sk.Table, Deletes: sk.Deletes, DeletedColumn: sk.DeletedColumn, NoCopy: sk.NoCopy}, dsn, p, prepare)
}

func (s *Service) openTableSink(ctx context.Context, spec *Spec, p sink.Plan) (*tablesink.Sink, error) {
	sk := spec.Sink
	return tablesink.Open(ctx, s.cfg.Tables, tablesink.Target{Table: sk.Table, Deletes: sk.Deletes, DeletedColumn: sk.DeletedColumn}, p)
}

// resolver answers lookups during validation without preparing the sink.
func (s *Service) resolver(ctx context.Context, spec *Spec) (Resolver, func(), error) {
	needs := spec.Sink.Type == "table" // a table sink also checks rows (rowChecker)
	for _, m := range spec.Mapping {
		needs = needs || m.Lookup != nil
	}
	if !needs {
		return nil, func() {}, nil
	}
	switch spec.Sink.Type {
	case "sql":
		sk, err := s.openSQLSink(ctx, spec, sink.Plan{Key: spec.Key}, false)
		if err != nil {
			return nil, nil, err
		}
		return sk, sk.Abort, nil
	case "table":
		ts, err := s.openTableSink(ctx, spec, sink.Plan{Key: spec.Key})
		if err != nil {
			return nil, nil, err
		}
		return ts, func() {}, nil
	case "dataverse":
		c, err := s.dataverse("sink", spec.Sink.Connection, spec.Sink.Org)
		if err != nil {
			return nil, nil, err
		}
		return dvsink.NewResolver(c), func() {}, nil
	}
	return nil, nil, fmt.Errorf("a %s sink cannot resolve lookups", spec.Sink.Type)
}
