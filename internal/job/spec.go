// Package job runs batch and file jobs: a source (files in a folder or on SFTP,
// a SQL query, a Junction table or its change log, a Dataverse org's table) is
// read as a stream, mapped, validated row by row, and written to a sink (a SQL
// warehouse table, files in a Synapse Link–like layout, a Junction table, an
// org's table) in chunks. Every run keeps a history: its trigger, counts,
// progress, a rejects file and a reconciliation report. Runs start from a cron
// schedule, on file arrival, or by hand, and each schedule occurrence and each
// file content runs once across restarts and nodes. The sources are the
// packages under source/, the sinks those under sink/; this package opens them
// for each run.
package job

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"junction/internal/job/format"
)

// Spec is a job definition: jobs/NAME.yaml in the project, or the body of
// PUT /admin/v1/jobs/NAME.
type Spec struct {
	Name        string    `yaml:"name" json:"name"`
	Description string    `yaml:"description" json:"description,omitempty"`
	Trigger     Trigger   `yaml:"trigger" json:"trigger,omitempty"`
	Source      Source    `yaml:"source" json:"source"`
	Mapping     []Mapping `yaml:"mapping" json:"mapping,omitempty"`
	// Key names the mapped columns that identify a row (upserts, reconciliation).
	Key []string `yaml:"key" json:"key,omitempty"`
	// Schema is a JSON Schema file of the project (or inline JSON) every JSON
	// record must satisfy before mapping.
	Schema string `yaml:"schema" json:"schema,omitempty"`
	Policy Policy `yaml:"policy" json:"policy,omitempty"`
	Sink   Sink   `yaml:"sink" json:"sink"`
	// Chunk is the number of rows committed together (default 1000).
	Chunk int `yaml:"chunk" json:"chunk,omitempty"`
	// byAdmin: saved through the API with the admin key, so it may hold
	// inline DSNs, hosts, credentials and paths (as project jobs may).
	byAdmin bool
}

// Trigger says when a job runs besides by hand.
type Trigger struct {
	// Schedule is a cron expression of 5 fields (minute first) or 6 (seconds
	// first), or a descriptor such as @daily or @every 10m.
	Schedule string `yaml:"schedule" json:"schedule,omitempty"`
	// Timezone of the schedule (default UTC).
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`
	// Files starts a run for each complete new file in the source folder
	// (listed every tick, 1s by default, and at once after an upload to the
	// built-in SFTP server).
	Files bool `yaml:"files" json:"files,omitempty"`
	// Poll is how often a remote SFTP source is listed (default 30s).
	Poll Duration `yaml:"poll" json:"poll,omitempty"`
}

// Source is where rows come from. Type is file, sftp, sql, table or dataverse.
type Source struct {
	Type string `yaml:"type" json:"type"`
	// Connection names an admin-defined connection (connections.yaml) of
	// sql, sftp and dataverse sources instead of the inline settings below.
	Connection string `yaml:"connection" json:"connection,omitempty"`
	// DropZone names the admin-defined folder a file source's Path is
	// relative to (default: the data folder's files/).
	DropZone string `yaml:"dropZone" json:"dropZone,omitempty"`
	// file and sftp: the folder and the file name pattern (default *).
	Path    string         `yaml:"path" json:"path,omitempty"`
	Pattern string         `yaml:"pattern" json:"pattern,omitempty"`
	Read    format.Options `yaml:"read" json:"read,omitempty"`
	// Complete says when a file is complete enough to pick up.
	Complete Completion `yaml:"complete" json:"complete,omitempty"`
	// Leave keeps processed files where they are instead of moving them to
	// archive/ or error/ (runs of a given file, such as junction import).
	Leave bool `yaml:"leave" json:"leave,omitempty"`
	// sftp: the remote server (user, password or key from the environment).
	Address    string `yaml:"address" json:"address,omitempty"`
	User       string `yaml:"user" json:"user,omitempty"`
	Password   string `yaml:"password" json:"password,omitempty"`
	PrivateKey string `yaml:"privateKey" json:"privateKey,omitempty"`
	HostKey    string `yaml:"hostKey" json:"hostKey,omitempty"`
	// sftpUser: a user of the built-in SFTP server whose folder is the source.
	SFTPUser string `yaml:"sftpUser" json:"sftpUser,omitempty"`
	// sql: driver postgres, mysql or sqlite, a DSN (use ${VAR}) and a query.
	Driver string `yaml:"driver" json:"driver,omitempty"`
	DSN    string `yaml:"dsn" json:"dsn,omitempty"`
	Query  string `yaml:"query" json:"query,omitempty"`
	// Watermark is the column whose greatest value a delta run starts after.
	Watermark string `yaml:"watermark" json:"watermark,omitempty"`
	// DeletedColumn marks rows of a SQL source that are deletions.
	DeletedColumn string `yaml:"deletedColumn" json:"deletedColumn,omitempty"`
	// table: a Junction table, in full or (Delta) from the change log.
	// dataverse: a table of an org (logical or entity set name), in full or
	// (Delta) by change tracking.
	Table string `yaml:"table" json:"table,omitempty"`
	Delta bool   `yaml:"delta" json:"delta,omitempty"`
	// dataverse: the org, the columns to read (default all) and, for full
	// reads, an OData filter.
	Org    *Org     `yaml:"org" json:"org,omitempty"`
	Select []string `yaml:"select" json:"select,omitempty"`
	Filter string   `yaml:"filter" json:"filter,omitempty"`
}

// Org is a Dataverse org that a job reads or writes through its Web API:
// the org URL and an app registration (OAuth2 client credentials), or a
// bearer token such as a Junction API key. With no URL it is this Junction.
// Write secrets as ${VAR}.
type Org struct {
	URL          string `yaml:"url" json:"url,omitempty"`
	TenantID     string `yaml:"tenantId" json:"tenantId,omitempty"`
	ClientID     string `yaml:"clientId" json:"clientId,omitempty"`
	ClientSecret string `yaml:"clientSecret" json:"clientSecret,omitempty"`
	TokenURL     string `yaml:"tokenUrl" json:"tokenUrl,omitempty"`
	Token        string `yaml:"token" json:"token,omitempty"`
}

// Completion is how a file is known to be complete.
type Completion struct {
	// MinAge: the file was last modified at least this long ago.
	MinAge Duration `yaml:"minAge" json:"minAge,omitempty"`
	// StableFor: size and time unchanged across polls at least this long apart.
	StableFor Duration `yaml:"stableFor" json:"stableFor,omitempty"`
	// Marker: a file NAME+Marker (such as ".done") must exist beside it.
	Marker string `yaml:"marker" json:"marker,omitempty"`
}

// TempSuffixes are names of files still being written; they are never picked up.
var TempSuffixes = []string{".tmp", ".part", ".writing", ".filepart", ".partial"}

// Mapping makes one output column.
type Mapping struct {
	To    string `yaml:"to" json:"to"`
	From  string `yaml:"from" json:"from,omitempty"`   // a source field; "a.b" reaches into nested JSON
	Const any    `yaml:"const" json:"const,omitempty"` // a constant instead of From
	Expr  string `yaml:"expr" json:"expr,omitempty"`   // an expression instead of From (see docs)
	Type  string `yaml:"type" json:"type,omitempty"`   // a format.Type* (default string)
	// Format is the layout of dates in the source (Go layout, or ISO forms by default).
	Format   string `yaml:"format" json:"format,omitempty"`
	Required bool   `yaml:"required" json:"required,omitempty"`
	// MaxLength caps string length in characters.
	MaxLength int `yaml:"maxLength" json:"maxLength,omitempty"`
	// Choices maps source labels to stored values (a Dataverse choice column);
	// a value that is neither a label nor a value is rejected.
	Choices map[string]int64 `yaml:"choices" json:"choices,omitempty"`
	// Values lists the accepted values.
	Values []string `yaml:"values" json:"values,omitempty"`
	// Lookup resolves a readable value to the key of a row in the sink.
	Lookup *Lookup `yaml:"lookup" json:"lookup,omitempty"`
	// Default fills an empty value.
	Default any `yaml:"default" json:"default,omitempty"`
}

// Policy decides what happens when rows are rejected.
type Policy struct {
	// OnError is reject-all (the default: any bad row rejects the whole input,
	// nothing is applied) or accept (good rows are applied unless the rejects
	// pass MaxErrors or MaxErrorPercent, in which case nothing is applied).
	OnError         string  `yaml:"onError" json:"onError,omitempty"`
	MaxErrors       int64   `yaml:"maxErrors" json:"maxErrors,omitempty"`
	MaxErrorPercent float64 `yaml:"maxErrorPercent" json:"maxErrorPercent,omitempty"`
}

// Sink is where rows go. Type is sql, file, table or dataverse.
type Sink struct {
	Type string `yaml:"type" json:"type"`
	// Connection and DropZone: as for sources.
	Connection string `yaml:"connection" json:"connection,omitempty"`
	DropZone   string `yaml:"dropZone" json:"dropZone,omitempty"`
	// sql: driver and DSN as for sources; Table is created and altered to match.
	Driver string `yaml:"driver" json:"driver,omitempty"`
	DSN    string `yaml:"dsn" json:"dsn,omitempty"`
	Table  string `yaml:"table" json:"table,omitempty"`
	// Deletes is ignore (default), flag (set DeletedColumn) or delete.
	Deletes       string `yaml:"deletes" json:"deletes,omitempty"`
	DeletedColumn string `yaml:"deletedColumn" json:"deletedColumn,omitempty"`
	// NoCopy turns off COPY for new rows on PostgreSQL.
	NoCopy bool `yaml:"noCopy" json:"noCopy,omitempty"`
	// file: a folder, a format (csv, jsonl, parquet), a layout (plain or
	// synapse) and the file or table name.
	Path   string `yaml:"path" json:"path,omitempty"`
	Format string `yaml:"format" json:"format,omitempty"`
	Layout string `yaml:"layout" json:"layout,omitempty"`
	Name   string `yaml:"name" json:"name,omitempty"`
	// SFTP, when set, also uploads each finished file (or synapse folder) to
	// a remote server, under a temporary name renamed when complete.
	SFTP *SFTPTarget `yaml:"sftp" json:"sftp,omitempty"`
	// dataverse: the org (Table names its table); Write is upsert-multiple
	// (the default: UpsertMultiple requests, all-or-nothing each) or batch
	// ($batch requests answered row by row); BatchSize rows a request (default
	// 100, at most 1000); Writers requests at once (default 4, at most 52).
	Org       *Org   `yaml:"org" json:"org,omitempty"`
	Write     string `yaml:"write" json:"write,omitempty"`
	BatchSize int    `yaml:"batchSize" json:"batchSize,omitempty"`
	Writers   int    `yaml:"writers" json:"writers,omitempty"`
}

// SFTPTarget is a remote folder that file sinks upload to.
type SFTPTarget struct {
	// Connection names an admin-defined sftp connection instead of the
	// inline login.
	Connection string `yaml:"connection" json:"connection,omitempty"`
	Address    string `yaml:"address" json:"address,omitempty"`
	User       string `yaml:"user" json:"user,omitempty"`
	Password   string `yaml:"password" json:"password,omitempty"`
	PrivateKey string `yaml:"privateKey" json:"privateKey,omitempty"`
	HostKey    string `yaml:"hostKey" json:"hostKey,omitempty"`
	Path       string `yaml:"path" json:"path,omitempty"`
}

// Duration is a time.Duration written as "5s" in YAML and JSON.
type Duration time.Duration

// UnmarshalText parses "5s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes "5s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Problem is one thing wrong with a spec, named by its field.
type Problem struct {
	Field string `json:"field"`
	Msg   string `json:"message"`
}

func (p Problem) String() string { return p.Field + ": " + p.Msg }

// Check validates s and fills defaults. It returns every problem found.
func (s *Spec) Check() []Problem {
	var ps []Problem
	add := func(field, f string, args ...any) { ps = append(ps, Problem{field, fmt.Sprintf(f, args...)}) }
	if !namePattern.MatchString(s.Name) {
		add("name", "%q must be lower case letters, digits, - and _ (at most 63)", s.Name)
	}
	if s.Chunk == 0 {
		s.Chunk = 1000
	}
	if s.Chunk < 1 || s.Chunk > 100000 {
		add("chunk", "must be between 1 and 100000")
	}
	if s.Trigger.Schedule != "" {
		if _, err := ParseSchedule(s.Trigger.Schedule, s.Trigger.Timezone); err != nil {
			add("trigger.schedule", "%v", err)
		}
	}
	src := &s.Source
	switch src.Type {
	case "file", "sftp":
		if src.Type == "file" && src.Path == "" && src.SFTPUser == "" {
			add("source.path", "a folder is required (or sftpUser)")
		}
		if src.Type == "sftp" && src.Connection == "" && (src.Address == "" || src.User == "") {
			add("source.address", "address and user are required for an sftp source (or a connection)")
		}
		if src.SFTPUser != "" && !sftpUserPattern.MatchString(src.SFTPUser) {
			add("source.sftpUser", "%q is not a user name of the built-in SFTP server", src.SFTPUser)
		}
		if src.Type == "file" && src.Connection != "" {
			add("source.connection", "a file source reads a folder: name a dropZone instead")
		}
		if src.Pattern == "" {
			src.Pattern = "*"
		}
		if _, err := path.Match(src.Pattern, "x"); err != nil {
			add("source.pattern", "%v", err)
		}
		if err := src.Read.Check(); err != nil {
			add("source.read", "%v", err)
		}
		if len(s.Mapping) == 0 {
			add("mapping", "a file source needs a mapping that names and types its columns")
		}
	case "sql":
		checkSQLTarget(add, "source", src.Connection, src.Driver, src.DSN)
		if strings.TrimSpace(src.Query) == "" {
			add("source.query", "a query is required")
		} else if err := readingQuery(src.Query); err != nil {
			add("source.query", "%v", err)
		}
		if src.Watermark != "" && !identPattern.MatchString(src.Watermark) {
			add("source.watermark", "%q is not a column name", src.Watermark)
		}
	case "table":
		if src.Table == "" {
			add("source.table", "a table name is required")
		}
	case "dataverse":
		if src.Table == "" {
			add("source.table", "a table name is required (logical name such as account, or entity set name such as accounts)")
		}
		checkOrgTarget(add, "source", src.Connection, src.Org)
		for i, c := range src.Select {
			if !identPattern.MatchString(c) {
				add(fmt.Sprintf("source.select[%d]", i), "%q is not a column name", c)
			}
		}
		if src.Delta && src.Filter != "" {
			add("source.filter", "change tracking reads the whole table: a filter cannot be combined with delta")
		}
	default:
		add("source.type", "%q is not one of file, sftp, sql, table, dataverse", src.Type)
	}
	if s.Trigger.Files && src.Type != "file" && src.Type != "sftp" {
		add("trigger.files", "only file and sftp sources have files to wait for")
	}
	names := map[string]bool{}
	for i := range s.Mapping {
		m := &s.Mapping[i]
		f := fmt.Sprintf("mapping[%d]", i)
		if !identPattern.MatchString(m.To) {
			add(f+".to", "%q is not a column name (letters, digits, _)", m.To)
		}
		if names[m.To] {
			add(f+".to", "%q is mapped twice", m.To)
		}
		names[m.To] = true
		set := 0
		if m.From != "" {
			set++
		}
		if m.Const != nil {
			set++
		}
		if m.Expr != "" {
			set++
			if _, err := parseExpr(m.Expr); err != nil {
				add(f+".expr", "%v", err)
			}
		}
		if set > 1 {
			add(f, "give one of from, const and expr")
		}
		if set == 0 {
			m.From = m.To
		}
		if m.Type == "" {
			m.Type = format.TypeString
			if m.Choices != nil {
				m.Type = format.TypeInt
			}
		}
		if !contains(format.Types, m.Type) {
			add(f+".type", "%q is not one of %s", m.Type, strings.Join(format.Types, ", "))
		}
		if m.Lookup != nil && (m.Lookup.Table == "" || m.Lookup.Key == "" || m.Lookup.Return == "") {
			add(f+".lookup", "table, key and return are required")
		}
		if m.Lookup != nil && (!identPattern.MatchString(m.Lookup.Table) || !identPattern.MatchString(m.Lookup.Key) || !identPattern.MatchString(m.Lookup.Return)) {
			add(f+".lookup", "table, key and return must be plain names")
		}
	}
	for _, k := range s.Key {
		if len(s.Mapping) > 0 && !names[k] {
			add("key", "%q is not a mapped column", k)
		}
	}
	switch s.Policy.OnError {
	case "":
		s.Policy.OnError = "reject-all"
	case "reject-all", "accept":
	default:
		add("policy.onError", "%q is not reject-all or accept", s.Policy.OnError)
	}
	if s.Policy.MaxErrors < 0 || s.Policy.MaxErrorPercent < 0 || s.Policy.MaxErrorPercent > 100 {
		add("policy", "maxErrors must not be negative and maxErrorPercent must be within 0..100")
	}
	sk := &s.Sink
	switch sk.Type {
	case "sql":
		checkSQLTarget(add, "sink", sk.Connection, sk.Driver, sk.DSN)
		if !identPattern.MatchString(sk.Table) {
			add("sink.table", "%q is not a table name (letters, digits, _)", sk.Table)
		}
		if len(s.Key) == 0 {
			add("key", "a sql sink needs key columns to upsert by")
		}
	case "file":
		if sk.Path == "" {
			add("sink.path", "a folder is required")
		}
		if sk.Format == "" {
			sk.Format = "csv"
		}
		if !contains(format.WriterFormats, sk.Format) {
			add("sink.format", "%q is not one of %s", sk.Format, strings.Join(format.WriterFormats, ", "))
		}
		switch sk.Layout {
		case "":
			sk.Layout = "plain"
		case "plain", "synapse":
		default:
			add("sink.layout", "%q is not plain or synapse", sk.Layout)
		}
		if sk.Name == "" {
			sk.Name = s.Name
		}
		if sk.SFTP != nil && sk.SFTP.Connection == "" && (sk.SFTP.Address == "" || sk.SFTP.User == "" || sk.SFTP.HostKey == "") {
			add("sink.sftp", "address, user and hostKey are required (or a connection)")
		}
		if sk.Connection != "" {
			add("sink.connection", "a file sink writes a folder: name a dropZone instead")
		}
		if !identPattern.MatchString(strings.ReplaceAll(sk.Name, "-", "_")) {
			add("sink.name", "%q is not a plain name", sk.Name)
		}
	case "table":
		if sk.Table == "" {
			add("sink.table", "a table name is required")
		}
	case "dataverse":
		if sk.Table == "" {
			add("sink.table", "a table name is required (logical name such as account, or entity set name such as accounts)")
		}
		checkOrgTarget(add, "sink", sk.Connection, sk.Org)
		if len(s.Key) == 0 {
			add("key", "a dataverse sink needs key columns: the table's primary id or the columns of one of its alternate keys")
		}
		switch sk.Write {
		case "":
			sk.Write = "upsert-multiple"
		case "upsert-multiple", "batch":
		default:
			add("sink.write", "%q is not upsert-multiple or batch", sk.Write)
		}
		if sk.BatchSize == 0 {
			sk.BatchSize = 100
		}
		if sk.BatchSize < 1 || sk.BatchSize > 1000 {
			add("sink.batchSize", "must be between 1 and 1000 (Dataverse takes at most 1000 rows a request)")
		}
		if sk.Writers == 0 {
			sk.Writers = 4
		}
		if sk.Writers < 1 || sk.Writers > 52 {
			add("sink.writers", "must be between 1 and 52 (Dataverse serves at most 52 concurrent requests a user)")
		}
	default:
		add("sink.type", "%q is not one of sql, file, table, dataverse", sk.Type)
	}
	switch sk.Deletes {
	case "":
		sk.Deletes = "ignore"
	case "ignore", "flag", "delete":
	default:
		add("sink.deletes", "%q is not ignore, flag or delete", sk.Deletes)
	}
	if sk.DeletedColumn == "" {
		sk.DeletedColumn = "isdeleted"
	}
	return ps
}

func (o *Org) check(add func(string, string, ...any), where string) {
	if o == nil || o.URL == "" {
		return // this Junction
	}
	if o.Token == "" && (o.ClientID == "" || o.ClientSecret == "") {
		add(where, "an org needs clientId and clientSecret (with tenantId or tokenUrl), or a token")
	}
	if o.Token == "" && o.TenantID == "" && o.TokenURL == "" {
		add(where+".tenantId", "a tenantId (or a tokenUrl) is required")
	}
}

// checkSQLTarget: a SQL source or sink names a connection or gives a driver
// and a DSN, not both.
func checkSQLTarget(add func(string, string, ...any), where, conn, driver, dsn string) {
	if conn == "" {
		checkDriver(add, where, driver, dsn)
		return
	}
	if driver != "" || dsn != "" {
		add(where+".connection", "give a connection or a driver and a DSN, not both")
	}
}

func checkOrgTarget(add func(string, string, ...any), where, conn string, o *Org) {
	if conn != "" && o != nil && *o != (Org{}) {
		add(where+".connection", "give a connection or an org, not both")
	}
	o.check(add, where+".org")
}

func checkDriver(add func(string, string, ...any), where, driver, dsn string) {
	switch driver {
	case "postgres", "mysql", "sqlite":
	default:
		add(where+".driver", "%q is not one of postgres, mysql, sqlite", driver)
	}
	if dsn == "" {
		add(where+".dsn", "a DSN is required (or a connection; write secrets as ${JUNCTION_SECRET_NAME})")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var sftpUserPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,31}$`)
