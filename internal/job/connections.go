package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"junction/internal/project"
	"junction/internal/store"
)

// ConnectionsFile is the project file in which the admin defines the
// connections and drop zones that jobs name (the model of a Logic Apps
// connections.json): whoever writes a job through the API picks a
// connection by name and never sees or writes its DSN, host or credentials.
const ConnectionsFile = "connections.yaml"

// DefaultZone is the drop zone every server has: the data folder's files/.
const DefaultZone = "files"

// Connections is connections.yaml.
type Connections struct {
	Connections map[string]*Connection `yaml:"connections"`
	// DropZones are named folders under which file sources and sinks read
	// and write: an absolute path, or one relative to the data folder's
	// files/.
	DropZones map[string]string `yaml:"dropZones"`
}

// Connection is a SQL database, an SFTP server or a Dataverse org. Secrets
// are written as ${VAR} and resolve when a run uses the connection.
type Connection struct {
	Type string `yaml:"type" json:"type"` // sql, sftp or dataverse
	// sql
	Driver string `yaml:"driver" json:"driver,omitempty"`
	DSN    string `yaml:"dsn" json:"dsn,omitempty"`
	// sftp
	Address    string `yaml:"address" json:"address,omitempty"`
	User       string `yaml:"user" json:"user,omitempty"`
	Password   string `yaml:"password" json:"password,omitempty"`
	PrivateKey string `yaml:"privateKey" json:"privateKey,omitempty"`
	HostKey    string `yaml:"hostKey" json:"hostKey,omitempty"`
	// dataverse
	URL          string `yaml:"url" json:"url,omitempty"`
	TenantID     string `yaml:"tenantId" json:"tenantId,omitempty"`
	ClientID     string `yaml:"clientId" json:"clientId,omitempty"`
	ClientSecret string `yaml:"clientSecret" json:"clientSecret,omitempty"`
	TokenURL     string `yaml:"tokenUrl" json:"tokenUrl,omitempty"`
	Token        string `yaml:"token" json:"token,omitempty"`
}

func (c *Connection) org() *Org {
	return &Org{URL: c.URL, TenantID: c.TenantID, ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL, Token: c.Token}
}

// check reports what is wrong with c, its fields under f.
func (c *Connection) check(add func(string, string, ...any), f string) {
	switch c.Type {
	case "sql":
		checkDriver(add, f, c.Driver, c.DSN)
	case "sftp":
		if c.Address == "" || c.User == "" || c.HostKey == "" {
			add(f, "address, user and hostKey are required for an sftp connection")
		}
	case "dataverse":
		if c.URL == "" {
			add(f+".url", "the org's URL is required")
		}
		c.org().check(add, f)
	default:
		add(f+".type", "%q is not one of sql, sftp, dataverse", c.Type)
	}
}

// check reports what is wrong with cs, each problem named by its field.
func (cs *Connections) check() []Problem {
	var ps []Problem
	add := func(field, f string, args ...any) { ps = append(ps, Problem{field, fmt.Sprintf(f, args...)}) }
	for _, name := range slices.Sorted(maps.Keys(cs.Connections)) {
		c := cs.Connections[name]
		f := "connections." + name
		if !namePattern.MatchString(name) {
			add(f, "%q must be lower case letters, digits, - and _", name)
		}
		if c == nil {
			add(f, "a connection needs a type")
			continue
		}
		c.check(add, f)
	}
	for _, name := range slices.Sorted(maps.Keys(cs.DropZones)) {
		f := "dropZones." + name
		if !namePattern.MatchString(name) {
			add(f, "%q must be lower case letters, digits, - and _", name)
		}
		if name == DefaultZone {
			add(f, "%q is the data folder's files/ and cannot be redefined", name)
		}
		if p := cs.DropZones[name]; p == "" || (!filepath.IsAbs(p) && !filepath.IsLocal(filepath.FromSlash(p))) {
			add(f, "%q must be an absolute folder or one inside the data folder's files/", p)
		}
	}
	return ps
}

// readConnections reads connections.yaml when the project has one.
func readConnections(p *project.Project) (*Connections, []project.Problem) {
	cs := &Connections{}
	if p == nil || !p.Exists(ConnectionsFile) {
		return cs, nil
	}
	if pr := p.DecodeYAML(ConnectionsFile, cs); pr != nil {
		return cs, pr
	}
	var out []project.Problem
	for _, pr := range cs.check() {
		out = append(out, project.Problem{File: ConnectionsFile, Message: pr.String()})
	}
	return cs, out
}

// connection returns the named connection of the given type.
func (s *Service) connection(name, typ string) (*Connection, error) {
	s.mu.Lock()
	c, ok := s.conns.Connections[name]
	s.mu.Unlock()
	if !ok || c == nil {
		var err error
		if c, err = s.savedConnection(context.Background(), name); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("no connection named %q (the admin defines connections in %s or through /admin/v1/connections)", name, ConnectionsFile)
			}
			return nil, err
		}
	}
	if c.Type != typ {
		return nil, fmt.Errorf("connection %q is a %s connection, not %s", name, c.Type, typ)
	}
	return c, nil
}

// zone returns the folder of a drop zone ("" is the default one).
func (s *Service) zone(name string) (string, error) {
	files := filepath.Join(s.cfg.DataDir, "files")
	if name == "" || name == DefaultZone {
		return files, nil
	}
	s.mu.Lock()
	p, ok := s.conns.DropZones[name]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("no drop zone named %q (the admin defines drop zones in %s)", name, ConnectionsFile)
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	return filepath.Join(files, filepath.FromSlash(p)), nil
}

// ErrOutside is wrapped by Confine's refusals.
var ErrOutside = errors.New("leaves its folder")

// Confine joins rel (slash-separated) to root and refuses a result outside
// root: an absolute rel, one with "..", or one that reaches through a
// symbolic link to somewhere else. Parts that do not exist yet are made
// later under a folder that was checked.
func Confine(root, rel string) (string, error) {
	r := filepath.FromSlash(rel)
	if r == "" || r == "." {
		r = "."
	} else if !filepath.IsLocal(r) {
		return "", fmt.Errorf("%q %w: write a relative path without ..", rel, ErrOutside)
	}
	full := filepath.Join(root, r)
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		// Nothing exists yet below a missing root: check what exists above it.
		return full, nil
	}
	p := full
	for {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		parent := filepath.Dir(p)
		if parent == p || len(parent) < len(filepath.Clean(root)) {
			return full, nil
		}
		p = parent
	}
	realP, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%q: %w", rel, err)
	}
	if !within(realRoot, realP) {
		return "", fmt.Errorf("%q %w through a symbolic link", rel, ErrOutside)
	}
	return full, nil
}

// inside joins name to dir and refuses names that leave dir, through ".."
// or a symbolic link.
func inside(dir, name string) (string, error) {
	if name == "" || name == "." {
		return "", fmt.Errorf("%q is not a file name inside the job's folder", name)
	}
	full, err := Confine(dir, name)
	if err != nil {
		return "", fmt.Errorf("%q is not a file name inside the job's folder: %w", name, err)
	}
	return full, nil
}

// within reports whether p is dir or below it (both cleaned, absolute).
func within(dir, p string) bool {
	if p == dir {
		return true
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel)
}

// sanitizeFolderName makes a remote login usable as one folder name.
func sanitizeFolderName(s string) string {
	s = strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(s)
	if s == "" || s == "." || s == ".." {
		s = "_"
	}
	return strings.ReplaceAll(s, "..", "_")
}
