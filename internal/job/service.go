package job

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"junction/internal/lifecycle"
	"junction/internal/outbound"
	"junction/internal/project"
	"junction/internal/secrets"
	"junction/internal/store"
	"junction/internal/trace"
)

// Folders gives the folder of a built-in SFTP user (the sftp package).
type Folders interface {
	Folder(user string) (string, bool)
}

// Config builds a Service: every dependency and setting it has.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Tracer records runs' spans (nil: none).
	Tracer  *trace.Recorder
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
	// Outbound is the policy Dataverse clients and SFTP connections of jobs
	// dial through (nil: the default, which refuses link-local and metadata
	// addresses).
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
	// over (default 30s; --job-lease).
	LeaseTTL time.Duration
	// Workers is the number of runs one node carries out at once (default 2).
	Workers int
	// Tick is how often schedules are checked (default 1s).
	Tick time.Duration
}

// Service is the job component: definitions, workers, triggers, history.
type Service struct {
	cfg Config

	mu       sync.Mutex
	project  map[string]*Spec
	conns    *Connections
	schemas  map[string][]byte // project files referenced as schemas
	compiled map[string]*jsonschema.Schema
	polled   map[string]time.Time // last remote poll by job

	files settling   // the file watcher's files not yet complete
	orgs  orgClients // Dataverse clients by their settings

	loop lifecycle.Worker
	wake chan struct{}
	scan chan struct{}
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
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	return &Service{cfg: c,
		project: map[string]*Spec{}, conns: &Connections{}, schemas: map[string][]byte{}, compiled: map[string]*jsonschema.Schema{},
		polled: map[string]time.Time{}, wake: make(chan struct{}, 1), scan: make(chan struct{}, 1)}
}

// Name is the component name.
func (s *Service) Name() string { return "job" }

// Migrations are the job tables.
func (s *Service) Migrations() []store.Migration { return Migrations() }

func (s *Service) now() time.Time { return s.cfg.Now() }

func (s *Service) tmpDir() string {
	dir := filepath.Join(s.cfg.DataDir, "jobs", "tmp")
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
			problems = append(problems, pr...)
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
		if dsn, err := s.expand(c.DSN); err == nil {
			if err := s.cfg.OwnStore.refuse(c.Driver, dsn); err != nil {
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

// Enqueue queues a run of job; occurrence, when set, makes it unique.
func (s *Service) Enqueue(ctx context.Context, job, trigger, occurrence, file string) (int64, error) {
	if _, ok := s.Spec(job); !ok {
		return 0, store.ErrNotFound
	}
	id, err := enqueue(ctx, s.cfg.Store, job, trigger, occurrence, file, s.now())
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

// Start starts the workers, the scheduler and the file watcher. They run
// until Stop, whatever becomes of ctx; a second Start while they run does
// nothing.
func (s *Service) Start(ctx context.Context) error {
	if s.cfg.Store != nil {
		if err := s.releaseRemoved(ctx); err != nil {
			s.cfg.Logger.Warn("job: release the change-log cursors of removed jobs", "err", err)
		}
	}
	s.loop.Start(ctx, s.run)
	return nil
}

// Stop stops the loops and waits for them within ctx's deadline, whose
// error it returns if they outlast it. A run in progress stops at its next
// row and resumes from its last checkpoint on whichever node claims it next.
// Safe twice and without Start.
func (s *Service) Stop(ctx context.Context) error {
	if err := s.loop.Stop(ctx); err != nil {
		return fmt.Errorf("job: stop: %w", err)
	}
	return nil
}

// run is the service's life between Start and Stop: the workers, and the
// ticks of schedules and file scans.
func (s *Service) run(ctx context.Context) {
	sub := s.cfg.Store.Listen(runChannel)
	defer sub.Close()
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.worker(ctx, sub.C) })
	}
	defer wg.Wait()
	t := time.NewTicker(s.cfg.Tick)
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
}

func (s *Service) worker(ctx context.Context, notify <-chan struct{}) {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			run, ok, err := claim(ctx, s.cfg.Store, s.cfg.NodeID, s.cfg.LeaseTTL)
			if err != nil || !ok {
				if err != nil && ctx.Err() == nil {
					s.cfg.Logger.Error("claim job run", "err", err)
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

// Run returns one run of job, for callers in-process (the jobs connector).
func (s *Service) Run(ctx context.Context, job string, id int64) (Run, error) {
	return getRun(ctx, s.cfg.Store, job, id)
}
