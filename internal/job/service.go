package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	dv "junction/internal/dataverse"
	"junction/internal/outbound"
	"junction/internal/project"
	"junction/internal/secrets"
	"junction/internal/store"
)

// Folders gives the folder of a built-in SFTP user (the sftp package).
type Folders interface {
	Folder(user string) (string, bool)
}

// Config builds a Service.
type Config struct {
	Store   store.Store
	Logger  *slog.Logger
	NodeID  string
	DataDir string
	// Tables reads and writes Junction tables; nil until the records service
	// provides it (table sinks and full table reads then fail clearly).
	Tables Tables
	// SFTP resolves sftpUser folders; may be nil.
	SFTP Folders
	// Local locates this Junction's Web API and the key to call it with: the
	// org of dataverse sources and sinks that name no url. May be nil.
	Local func() (baseURL, token string)
	// LocalClient calls Local's URL; it trusts the listener's own certificate.
	LocalClient *http.Client
	// Outbound is the policy Dataverse clients of jobs dial through (nil: the
	// default, which refuses link-local and metadata addresses).
	Outbound *outbound.Policy
	// Secrets resolves ${VAR} references under the allow-list rule (nil:
	// none resolve).
	Secrets *secrets.Resolver
	// OwnStore is the store's own database, which no SQL source or sink may
	// reach.
	OwnStore OwnStore
	// Now is the clock (default time.Now).
	Now func() time.Time
	// LeaseTTL is how long a node may go silent before its runs are taken
	// over (default 30s).
	LeaseTTL time.Duration
	// Workers is the number of runs one node carries out at once (default 2).
	Workers int
	// Tick is how often schedules are checked (default 1s).
	Tick time.Duration
}

// Service is the job component: definitions, workers, triggers, history.
type Service struct {
	Config
	store    store.Store
	log      *slog.Logger
	node     string
	leaseTTL time.Duration

	mu       sync.Mutex
	project  map[string]*Spec
	conns    *Connections
	schemas  map[string][]byte // project files referenced as schemas
	compiled map[string]*jsonschema.Schema
	stable   map[string]fileSeen   // file watcher state by path
	polled   map[string]time.Time  // last remote poll by job
	orgs     map[string]*dv.Client // Dataverse clients by their settings

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stop    atomic.Bool
	wake    chan struct{}
	scan    chan struct{}
	started bool
}

type fileSeen struct {
	size  int64
	mtime time.Time
	since time.Time
}

// New builds the job service.
func New(c Config) *Service {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
		// JUNCTION_JOB_LEASE (a duration) shortens the takeover of runs from a
		// node that died; tests of restarts use it.
		if d, err := time.ParseDuration(os.Getenv("JUNCTION_JOB_LEASE")); err == nil && d > 0 {
			c.LeaseTTL = d
		}
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	return &Service{Config: c, store: c.Store, log: c.Logger, node: c.NodeID, leaseTTL: c.LeaseTTL,
		project: map[string]*Spec{}, conns: &Connections{}, schemas: map[string][]byte{}, compiled: map[string]*jsonschema.Schema{},
		stable: map[string]fileSeen{}, polled: map[string]time.Time{}, orgs: map[string]*dv.Client{}, wake: make(chan struct{}, 1), scan: make(chan struct{}, 1)}
}

// Name is the component name.
func (s *Service) Name() string { return "job" }

// Migrations are the job tables.
func (s *Service) Migrations() []store.Migration { return Migrations() }

func (s *Service) now() time.Time { return s.Now() }

func (s *Service) stopping() bool { return s.stop.Load() }

func (s *Service) tmpDir() string {
	dir := filepath.Join(s.DataDir, "jobs", "tmp")
	os.MkdirAll(dir, 0o755)
	return dir
}

// ValidateProject checks jobs/*.yaml.
func (s *Service) ValidateProject(p *project.Project) []project.Problem {
	_, problems := readProjectJobs(p)
	_, cp := readConnections(p)
	return append(cp, problems...)
}

func readProjectJobs(p *project.Project) (map[string]*Spec, []project.Problem) {
	specs := map[string]*Spec{}
	var problems []project.Problem
	files := append(p.Glob("jobs/*.yaml"), p.Glob("jobs/*.yml")...)
	for _, f := range files {
		var spec Spec
		if pr := p.DecodeYAML(f, &spec); pr != nil {
			problems = append(problems, *pr)
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(path.Base(f), ".yaml"), ".yml")
		if spec.Name == "" {
			spec.Name = base
		}
		for _, pr := range spec.Check() {
			problems = append(problems, project.Problem{File: f, Message: pr.String()})
		}
		if spec.Schema != "" && !strings.HasPrefix(strings.TrimSpace(spec.Schema), "{") {
			if b, err := p.ReadFile(spec.Schema); err != nil {
				problems = append(problems, project.Problem{File: f, Message: "schema: " + err.Error()})
			} else if _, err := compileSchema(b); err != nil {
				problems = append(problems, project.Problem{File: f, Message: "schema: " + err.Error()})
			}
		}
		if _, dup := specs[spec.Name]; dup {
			problems = append(problems, project.Problem{File: f, Message: fmt.Sprintf("a job named %q is defined twice", spec.Name)})
		}
		specs[spec.Name] = &spec
	}
	return specs, problems
}

// LoadProject takes the project's job definitions.
func (s *Service) LoadProject(_ context.Context, p *project.Project) error {
	specs, problems := readProjectJobs(p)
	conns, cp := readConnections(p)
	if problems = append(cp, problems...); len(problems) > 0 {
		return project.Problems(problems)
	}
	for _, name := range slices.Sorted(maps.Keys(conns.Connections)) {
		c := conns.Connections[name]
		if c.Type != "sql" {
			continue
		}
		// A DSN whose variables resolve now is checked now; one that does not
		// is checked when a run uses it.
		if dsn, err := s.Secrets.Expand(c.DSN); err == nil {
			if err := s.OwnStore.refuse(c.Driver, dsn); err != nil {
				return project.Problems{{File: ConnectionsFile, Message: "connections." + name + ".dsn: " + err.Error()}}
			}
		}
	}
	s.mu.Lock()
	s.conns = conns
	s.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		for _, pr := range s.refProblems(specs[name]) {
			problems = append(problems, project.Problem{File: "jobs/" + name + ".yaml", Message: pr.String()})
		}
	}
	if len(problems) > 0 {
		return project.Problems(problems)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.project = specs
	for _, spec := range specs {
		if spec.Schema != "" && !strings.HasPrefix(strings.TrimSpace(spec.Schema), "{") {
			b, _ := p.ReadFile(spec.Schema)
			s.schemas[spec.Schema] = b
		}
	}
	return nil
}

// Spec returns a job's definition: the project's, else one saved through the API.
func (s *Service) Spec(name string) (*Spec, bool) {
	s.mu.Lock()
	spec, ok := s.project[name]
	s.mu.Unlock()
	if ok {
		return spec, true
	}
	spec, err := s.savedSpec(context.Background(), name)
	return spec, err == nil
}

func (s *Service) schema(spec *Spec) (*jsonschema.Schema, error) {
	if spec.Schema == "" {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.compiled[spec.Schema]; ok {
		return c, nil
	}
	doc := []byte(spec.Schema)
	if !strings.HasPrefix(strings.TrimSpace(spec.Schema), "{") {
		var ok bool
		if doc, ok = s.schemas[spec.Schema]; !ok {
			return nil, fmt.Errorf("schema %s is not a file of the project", spec.Schema)
		}
	}
	c, err := compileSchema(doc)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s.compiled[spec.Schema] = c
	return c, nil
}

// folder resolves a job's source folder: a folder inside a built-in SFTP
// user's, a remote source's local inbox, or a folder inside a drop zone.
func (s *Service) folder(src Source) (string, error) {
	if src.SFTPUser != "" {
		if s.SFTP == nil {
			return "", errors.New("the built-in SFTP server is not configured")
		}
		if !sftpUserPattern.MatchString(src.SFTPUser) {
			return "", fmt.Errorf("sftpUser: %q is not a user name", src.SFTPUser)
		}
		dir, ok := s.SFTP.Folder(src.SFTPUser)
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
		return filepath.Join(s.DataDir, "jobs", "inbox", sanitizeFolderName(key)), nil
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

func (s *Service) expand(v string) (string, error) { return s.Secrets.Expand(v) }

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
	if err := s.OwnStore.refuse(driver, dsn); err != nil {
		return "", "", fmt.Errorf("%s.dsn: %w", where, err)
	}
	return driver, dsn, nil
}

// sftpLogin resolves a remote SFTP login, from its connection or inline.
func (s *Service) sftpLogin(where, conn string, l remoteLogin) (remoteLogin, error) {
	if conn == "" {
		return l, nil
	}
	c, err := s.connection(conn, "sftp")
	if err != nil {
		return l, fmt.Errorf("%s.connection: %w", where, err)
	}
	return remoteLogin{c.Address, c.User, c.Password, c.PrivateKey, c.HostKey}, nil
}

// opener returns how to read a run's source.
func (s *Service) opener(spec *Spec, run Run) (sourceOpener, error) {
	src := spec.Source
	switch src.Type {
	case "file", "sftp":
		if run.File == "" {
			return nil, errors.New("the run has no file: file jobs run once per file that arrives")
		}
		return func(ctx context.Context, from, pin string) (itemReader, error) {
			return openFile(run.File, src.Read)
		}, nil
	case "sql":
		driver, dsn, err := s.sqlTarget("source", src.Connection, src.Driver, src.DSN)
		if err != nil {
			return nil, err
		}
		src.Driver = driver
		return func(ctx context.Context, from, pin string) (itemReader, error) {
			return openSQLSource(ctx, src, dsn, from, pin)
		}, nil
	case "table":
		if src.Delta {
			return func(ctx context.Context, from, pin string) (itemReader, error) {
				if s.Tables == nil {
					return openChangeReader(ctx, s.store, src.Table, from, pin)
				}
				if from == "" { // the first delta run reads the table in full
					return openTableReader(ctx, s.Tables, src.Table)
				}
				cols, err := s.Tables.Columns(ctx, src.Table)
				if err != nil {
					return nil, err
				}
				r, err := openChangeReader(ctx, s.store, src.Table, from, pin)
				if err == nil {
					r.(*changeReader).cols = cols
				}
				return r, err
			}, nil
		}
		return func(ctx context.Context, from, pin string) (itemReader, error) {
			return openTableReader(ctx, s.Tables, src.Table)
		}, nil
	case "dataverse":
		return func(ctx context.Context, from, pin string) (itemReader, error) {
			return s.openDataverseSource(ctx, src, run.ID, from)
		}, nil
	}
	return nil, fmt.Errorf("unknown source type %q", src.Type)
}

// sinkColumns are the mapped columns, or for jobs without a mapping the
// source's columns (read by opening the source once).
func (s *Service) sinkPlan(ctx context.Context, spec *Spec, run Run) (sinkPlan, error) {
	p := sinkPlan{key: spec.Key, runID: run.ID, resume: run.Checkpoint > 0}
	if len(spec.Mapping) > 0 {
		m, err := newMapper(spec, nil, nil, nil)
		if err != nil {
			return p, err
		}
		p.cols = m.cols
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
	defer r.close()
	p.cols = r.columns()
	if len(p.cols) == 0 {
		return p, errors.New("the source does not name its columns: give the job a mapping")
	}
	return p, nil
}

func (s *Service) openSink(ctx context.Context, spec *Spec, run Run) (sinkWriter, error) {
	p, err := s.sinkPlan(ctx, spec, run)
	if err != nil {
		return nil, err
	}
	sk := spec.Sink
	switch sk.Type {
	case "sql":
		driver, dsn, err := s.sqlTarget("sink", sk.Connection, sk.Driver, sk.DSN)
		if err != nil {
			return nil, err
		}
		sk.Driver = driver
		return openSQLSink(ctx, sk, dsn, p, true)
	case "file":
		if sk.Path, err = s.localPath("sink", sk.DropZone, sk.Path); err != nil {
			return nil, err
		}
		var login remoteLogin
		if t := sk.SFTP; t != nil {
			if login, err = s.sftpLogin("sink.sftp", t.Connection, remoteLogin{t.Address, t.User, t.Password, t.PrivateKey, t.HostKey}); err != nil {
				return nil, err
			}
		}
		fs, err := openFileSink(sk, p, s.now())
		if err != nil {
			return nil, err
		}
		if t := sk.SFTP; t != nil {
			fs.upload = func(local string) error {
				return s.upload(login, local, t.Path)
			}
		}
		return fs, nil
	case "table":
		ts, err := newTableSink(ctx, s.Tables, sk, p)
		if err != nil {
			return nil, err
		}
		return ts, nil
	case "dataverse":
		return s.openDataverseSink(ctx, spec, p)
	}
	return nil, fmt.Errorf("unknown sink type %q", sk.Type)
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
		driver, dsn, err := s.sqlTarget("sink", spec.Sink.Connection, spec.Sink.Driver, spec.Sink.DSN)
		if err != nil {
			return nil, nil, err
		}
		target := spec.Sink
		target.Driver = driver
		sk, err := openSQLSink(ctx, target, dsn, sinkPlan{key: spec.Key}, false)
		if err != nil {
			return nil, nil, err
		}
		return sk, sk.Abort, nil
	case "table":
		ts, err := newTableSink(ctx, s.Tables, spec.Sink, sinkPlan{key: spec.Key})
		if err != nil {
			return nil, nil, err
		}
		return ts, func() {}, nil
	case "dataverse":
		c, err := s.dataverse("sink", spec.Sink.Connection, spec.Sink.Org)
		if err != nil {
			return nil, nil, err
		}
		return &dataverseSink{c: c}, func() {}, nil
	}
	return nil, nil, fmt.Errorf("a %s sink cannot resolve lookups", spec.Sink.Type)
}

// Enqueue queues a run of job; occurrence, when set, makes it unique.
func (s *Service) Enqueue(ctx context.Context, job, trigger, occurrence, file string) (int64, error) {
	if _, ok := s.Spec(job); !ok {
		return 0, store.ErrNotFound
	}
	id, err := enqueue(ctx, s.store, job, trigger, occurrence, file, s.now())
	if err == nil {
		s.poke()
	}
	return id, err
}

// FileArrived is told of an upload to the built-in SFTP server; the folders
// are scanned at once instead of at the next tick.
func (s *Service) FileArrived(user, path string) {
	select {
	case s.scan <- struct{}{}:
	default:
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start starts the workers, the scheduler and the file watcher.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return nil
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	sub := s.store.Listen(runChannel)
	for i := 0; i < s.Workers; i++ {
		s.wg.Add(1)
		go s.worker(ctx, sub.C)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer sub.Close()
		t := time.NewTicker(s.Tick)
		defer t.Stop()
		for {
			s.tick(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-s.scan:
			}
		}
	}()
	return nil
}

func (s *Service) worker(ctx context.Context, notify <-chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(s.Tick)
	defer t.Stop()
	for {
		for {
			run, ok, err := claim(ctx, s.store, s.node, s.leaseTTL)
			if err != nil || !ok {
				if err != nil && ctx.Err() == nil {
					s.log.Error("claim job run", "err", err)
				}
				break
			}
			s.execute(ctx, run)
		}
		select {
		case <-ctx.Done():
			return
		case <-notify:
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Stop stops the loops; a run in progress stops at its next row and resumes
// from its last checkpoint on whichever node claims it next.
func (s *Service) Stop(context.Context) error {
	s.mu.Lock()
	if !s.started || s.cancel == nil {
		s.mu.Unlock()
		return nil
	}
	s.stop.Store(true)
	s.cancel()
	s.cancel = nil
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// tick fires due schedules and scans file sources.
func (s *Service) tick(ctx context.Context) {
	specs, err := s.AllSpecs(ctx)
	if err != nil {
		return
	}
	for _, spec := range specs {
		if spec.Trigger.Schedule != "" {
			if err := s.fireSchedule(ctx, spec); err != nil && ctx.Err() == nil {
				s.log.Error("job schedule", "job", spec.Name, "err", err)
			}
		}
		if spec.Trigger.Files {
			if err := s.scanFiles(ctx, spec); err != nil && ctx.Err() == nil {
				s.log.Warn("job file scan", "job", spec.Name, "err", err)
			}
		}
	}
}

// fireSchedule enqueues the latest due occurrence of a job's schedule. The
// occurrence time is the run's unique occurrence key, so across restarts and
// nodes each occurrence runs once; occurrences missed while no node was up
// are folded into the next one.
func (s *Service) fireSchedule(ctx context.Context, spec *Spec) error {
	sched, err := ParseSchedule(spec.Trigger.Schedule, spec.Trigger.Timezone)
	if err != nil {
		return err
	}
	now := s.now()
	var last int64
	found := true
	err = s.store.Read(ctx, func(q store.Querier) error {
		err := q.QueryRow(ctx, "SELECT last FROM batch_schedules WHERE job = ?", spec.Name).Scan(&last)
		if err != nil {
			found = false
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		// First sight of this schedule: start counting from now.
		return s.store.Tx(ctx, func(tx store.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO batch_schedules (job, last) VALUES (?, ?) ON CONFLICT (job) DO NOTHING", spec.Name, store.Micros(now))
			return err
		})
	}
	next := sched.Next(store.FromMicros(last))
	if next.After(now) {
		return nil
	}
	due := next
	for i := 0; i < 100000; i++ { // the latest occurrence not after now
		n := sched.Next(due)
		if n.After(now) {
			break
		}
		due = n
	}
	occurrence := "schedule:" + due.UTC().Format(time.RFC3339Nano)
	_, err = enqueue(ctx, s.store, spec.Name, "schedule", occurrence, "", now)
	if err != nil && !errors.Is(err, ErrDuplicate) {
		return err
	}
	if err == nil {
		s.poke()
	}
	return s.store.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE batch_schedules SET last = ? WHERE job = ? AND last < ?", store.Micros(due), spec.Name, store.Micros(due))
		return err
	})
}

// scanFiles enqueues one run per complete file in a job's folder whose
// content has not been seen before; a file whose bytes were already
// processed is moved to archive/ with a report saying so.
func (s *Service) scanFiles(ctx context.Context, spec *Spec) error {
	if spec.Source.Type == "sftp" && s.duePoll(spec) {
		if err := s.pollRemote(ctx, spec); err != nil {
			return err
		}
	}
	dir, err := s.folder(spec.Source)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if ok, _ := path.Match(spec.Source.Pattern, name); !ok || strings.HasPrefix(name, ".") || isTemp(name) ||
			strings.HasSuffix(name, ".report.json") || (spec.Source.Complete.Marker != "" && strings.HasSuffix(name, spec.Source.Complete.Marker)) {
			continue
		}
		full := filepath.Join(dir, name)
		if !s.complete(spec, full, names) {
			continue
		}
		sum, err := fileHash(full)
		if err != nil {
			continue
		}
		if s.inFlight(ctx, full) {
			continue
		}
		id, err := s.Enqueue(ctx, spec.Name, "file", "file:"+sum, full)
		if errors.Is(err, ErrDuplicate) {
			s.duplicate(ctx, spec, full, id)
			continue
		}
		if err != nil {
			return err
		}
		if m := spec.Source.Complete.Marker; m != "" {
			os.Remove(full + m)
		}
		s.log.Info("file picked up", "job", spec.Name, "file", full, "run", id)
	}
	return nil
}

// duePoll says whether a remote source's poll interval has passed.
func (s *Service) duePoll(spec *Spec) bool {
	every := time.Duration(spec.Trigger.Poll)
	if every <= 0 {
		every = 30 * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if last, ok := s.polled[spec.Name]; ok && now.Sub(last) < every {
		return false
	}
	s.polled[spec.Name] = now
	return true
}

func isTemp(name string) bool {
	for _, suf := range TempSuffixes {
		if strings.HasSuffix(strings.ToLower(name), suf) {
			return true
		}
	}
	return false
}

// complete applies the job's completion rule to a file.
func (s *Service) complete(spec *Spec, full string, names map[string]bool) bool {
	c := spec.Source.Complete
	st, err := os.Stat(full)
	if err != nil {
		return false
	}
	now := s.now()
	if c.Marker != "" && !names[filepath.Base(full)+c.Marker] {
		return false
	}
	if c.MinAge > 0 && now.Sub(st.ModTime()) < time.Duration(c.MinAge) {
		return false
	}
	if c.StableFor > 0 {
		s.mu.Lock()
		defer s.mu.Unlock()
		prev, ok := s.stable[full]
		if !ok || prev.size != st.Size() || !prev.mtime.Equal(st.ModTime()) {
			s.stable[full] = fileSeen{size: st.Size(), mtime: st.ModTime(), since: now}
			return false
		}
		if now.Sub(prev.since) < time.Duration(c.StableFor) {
			return false
		}
		delete(s.stable, full)
	}
	return true
}

// inFlight reports whether a queued or running run already has this path.
func (s *Service) inFlight(ctx context.Context, full string) bool {
	n := 0
	s.store.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT COUNT(*) FROM batch_runs WHERE file = ? AND status IN (?, ?)", full, StatusQueued, StatusRunning).Scan(&n)
	})
	return n > 0
}

func (s *Service) duplicate(ctx context.Context, spec *Spec, full string, previous int64) {
	prev, _ := getRun(ctx, s.store, spec.Name, previous)
	if prev.Status == StatusQueued || prev.Status == StatusRunning {
		return
	}
	moveDuplicate(full, previous)
	s.log.Info("file skipped: the same bytes were processed before", "job", spec.Name, "file", full, "run", previous)
}

func moveDuplicate(full string, previous int64) {
	dir, err := Confine(filepath.Dir(full), "archive")
	if err != nil {
		return
	}
	os.MkdirAll(dir, 0o755)
	target := filepath.Join(dir, fmt.Sprintf("duplicate-%d-%s", time.Now().UnixNano(), filepath.Base(full)))
	if os.Rename(full, target) == nil {
		os.WriteFile(target+".report.json", []byte(fmt.Sprintf("{\n  \"status\": \"duplicate\",\n  \"message\": \"the same content was processed by run %d; nothing was done\",\n  \"run\": %d\n}\n", previous, previous)), 0o644)
	}
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Run returns one run of job, for callers in-process (the jobs connector).
func (s *Service) Run(ctx context.Context, job string, id int64) (Run, error) {
	return getRun(ctx, s.store, job, id)
}
