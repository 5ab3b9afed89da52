// Package secrets resolves the values that project files and job definitions
// name instead of writing them down (${VAR} in jobs, sftp.yaml and
// connections.yaml; @appsetting('X') in workflows; app settings of functions).
// Only an explicit allow-list resolves: environment variables named
// JUNCTION_SECRET_*, names the admin lists with --secrets-allow, and the keys
// of the admin's secrets file. The server's own settings (JUNCTION_ADMIN_KEY,
// JUNCTION_*) and every other variable of the process never do, so whoever
// writes a definition cannot read the server's keys through it.
package secrets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"junction/internal/project"
)

// Prefix is the name prefix of environment variables that resolve without
// being listed.
const Prefix = "JUNCTION_SECRET_"

// Rule says which names resolve, for error messages.
const Rule = "only environment variables named " + Prefix + "*, names given to --secrets-allow and keys of the secrets file resolve"

// namePattern is a variable or setting name.
var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$`)

// Resolver looks names up under the allow-list rule. The zero value and nil
// resolve nothing.
type Resolver struct {
	env   func(string) (string, bool)
	file  map[string]string
	allow map[string]bool
}

// Options build a Resolver.
type Options struct {
	// Env reads the process environment (the app passes os.LookupEnv).
	Env func(string) (string, bool)
	// File is the secrets file: KEY=VALUE lines (# comments, blank lines,
	// optional quotes around the value) or, when it starts with {, a JSON
	// object of strings. Empty: none.
	File string
	// Allow lists further environment variable names that resolve.
	Allow []string
	// Fixed are allowed names that need not pass CheckAllow (the demo's
	// settings).
	Fixed []string
}

// CheckAllow reports a name that --secrets-allow cannot list: a malformed
// one, or one of the server's own settings (JUNCTION_* other than
// JUNCTION_SECRET_*).
func CheckAllow(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%q is not a variable name", name)
	}
	if strings.HasPrefix(strings.ToUpper(name), "JUNCTION_") && !strings.HasPrefix(name, Prefix) {
		return fmt.Errorf("%s is one of Junction's own settings and never resolves in definitions", name)
	}
	return nil
}

// New builds a Resolver, reading the secrets file.
func New(o Options) (*Resolver, error) {
	r := &Resolver{env: o.Env, allow: map[string]bool{}, file: map[string]string{}}
	for _, n := range o.Allow {
		if err := CheckAllow(n); err != nil {
			return nil, err
		}
		r.allow[n] = true
	}
	for _, n := range o.Fixed {
		r.allow[n] = true
	}
	if o.File != "" {
		b, err := os.ReadFile(o.File)
		if err != nil {
			return nil, fmt.Errorf("read the secrets file: %w", err)
		}
		if r.file, err = Parse(b); err != nil {
			return nil, fmt.Errorf("%s: %w", o.File, err)
		}
	}
	return r, nil
}

// Parse reads a secrets file: a JSON object of strings, or KEY=VALUE lines.
func Parse(b []byte) (map[string]string, error) {
	out := map[string]string{}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		if err := json.Unmarshal(b, &out); err != nil {
			pr := project.JSONProblem("", b, &out, err)
			return nil, fmt.Errorf("line %d, column %d: %s (the file is a JSON object of strings)", pr.Line, pr.Column, pr.Message)
		}
		for k := range out {
			if !namePattern.MatchString(k) {
				return nil, fmt.Errorf("%q is not a name", k)
			}
		}
		return out, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !namePattern.MatchString(k) {
			return nil, fmt.Errorf("line %d: not KEY=VALUE", n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("line %d: %s is given twice", n, k)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Allowed reports whether name may resolve at all.
func (r *Resolver) Allowed(name string) bool {
	if r == nil {
		return false
	}
	if _, ok := r.file[name]; ok {
		return true
	}
	return strings.HasPrefix(name, Prefix) || r.allow[name]
}

// Lookup returns name's value: the secrets file's, else the environment's
// for an allowed name. A refused name is not found.
func (r *Resolver) Lookup(name string) (string, bool) {
	if r == nil {
		return "", false
	}
	if v, ok := r.file[name]; ok {
		return v, true
	}
	if !r.Allowed(name) || r.env == nil {
		return "", false
	}
	return r.env(name)
}

// Get is Lookup with an error that names the variable and, for a refused
// name, the rule.
func (r *Resolver) Get(name string) (string, error) {
	if v, ok := r.Lookup(name); ok {
		return v, nil
	}
	return "", r.Missing(name)
}

// Missing is the error for a name that did not resolve.
func (r *Resolver) Missing(name string) error {
	if !r.Allowed(name) {
		return fmt.Errorf("%s is not allowed: %s", name, Rule)
	}
	return fmt.Errorf("%s is not set (in the environment or the secrets file)", name)
}

var ref = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// Expand replaces ${VAR} with VAR's value and ${VAR:-default} with the
// default when VAR is unset, empty or not allowed. A VAR without a default
// that does not resolve is an error naming every such variable.
func (r *Resolver) Expand(s string) (string, error) {
	var bad []string
	out := ref.ReplaceAllStringFunc(s, func(m string) string {
		sm := ref.FindStringSubmatch(m)
		v, ok := r.Lookup(sm[1])
		switch {
		case ok && v != "":
		case sm[2] != "":
			v = sm[2][2:]
		case !ok:
			bad = append(bad, sm[1])
		}
		return v
	})
	if len(bad) == 0 {
		return out, nil
	}
	sort.Strings(bad)
	msgs := make([]string, len(bad))
	for i, n := range bad {
		msgs[i] = r.Missing(n).Error()
	}
	return "", fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// HasRef reports whether s names a variable as ${VAR}.
func HasRef(s string) bool { return ref.MatchString(s) }

// Environ filters a process environment (KEY=VALUE entries) for a child
// process such as a function's custom handler: Junction's own settings are
// dropped, and the secrets file's entries are added.
func (r *Resolver) Environ(base []string) []string {
	out := make([]string, 0, len(base))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(strings.ToUpper(k), "JUNCTION_") && !strings.HasPrefix(k, Prefix) {
			continue
		}
		if r != nil {
			if _, ok := r.file[k]; ok {
				continue
			}
		}
		out = append(out, kv)
	}
	if r != nil {
		keys := make([]string, 0, len(r.file))
		for k := range r.file {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, k+"="+r.file[k])
		}
	}
	return out
}
