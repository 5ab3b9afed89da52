// Package project reads a Junction project folder: the definitions (tables,
// broker entities, event topics, workflows, functions, jobs) that Junction loads
// at start and that `junction validate` checks. Each surface validates its own
// files through Validator; this package finds files, decodes them strictly, and
// reports problems with file and position.
package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ManifestFile is the project's own settings file, optional.
const ManifestFile = "junction.yaml"

// Manifest is junction.yaml.
type Manifest struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Retention is the retention: section, which package retention reads
	// (and reports problems in, with their lines).
	Retention yaml.Node `yaml:"retention"`
}

// Project is a loaded project folder.
type Project struct {
	FS       fs.FS
	Root     string // how the folder is named in messages
	Manifest Manifest
}

// Problem is one thing wrong with a project file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	// Warning marks a problem that does not stop the project from running
	// (a function that is not loaded while the others run).
	Warning bool `json:"warning,omitempty"`
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Problems is a list of problems that is also an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Validator checks the files of one surface.
type Validator interface {
	ValidateProject(p *Project) []Problem
}

// Open reads the project in fsys; root names it in messages.
func Open(fsys fs.FS, root string) (*Project, Problems) {
	p := &Project{FS: fsys, Root: root}
	if _, err := fs.Stat(fsys, "."); err != nil {
		return nil, Problems{{File: root, Message: "cannot read the project folder: " + err.Error()}}
	}
	var problems Problems
	if p.Exists(ManifestFile) {
		if pr := p.DecodeYAML(ManifestFile, &p.Manifest); pr != nil {
			problems = append(problems, pr...)
		}
	}
	return p, problems
}

// Validate checks every file's syntax, then runs the surfaces' validators.
// Problems come sorted by file and position.
func (p *Project) Validate(validators ...Validator) Problems {
	var problems Problems
	if p.Exists(ManifestFile) {
		var m Manifest
		if pr := p.DecodeYAML(ManifestFile, &m); pr != nil {
			problems = append(problems, pr...)
		}
	}
	_ = fs.WalkDir(p.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, Problem{File: name, Message: err.Error()})
			return nil
		}
		if d.IsDir() {
			if name != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		switch strings.ToLower(path.Ext(name)) {
		case ".json":
			var v any
			if pr := p.DecodeJSON(name, &v); pr != nil {
				problems = append(problems, pr...)
			}
		case ".yaml", ".yml":
			var v any
			if pr := p.DecodeYAML(name, &v); pr != nil {
				problems = append(problems, pr...)
			}
		}
		return nil
	})
	for _, v := range validators {
		problems = append(problems, v.ValidateProject(p)...)
	}
	return dedupe(problems)
}

func dedupe(ps Problems) Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
	out := ps[:0]
	seen := map[string]bool{}
	for _, p := range ps {
		if !seen[p.String()] {
			seen[p.String()] = true
			out = append(out, p)
		}
	}
	return out
}

// Exists reports whether name is a file or folder of the project.
func (p *Project) Exists(name string) bool {
	_, err := fs.Stat(p.FS, name)
	return err == nil
}

// Glob lists the files matching pattern, sorted.
func (p *Project) Glob(pattern string) []string {
	names, _ := fs.Glob(p.FS, pattern)
	sort.Strings(names)
	return names
}

// ReadFile returns a file's contents, without a leading UTF-8 byte order
// mark (editors on Windows write one; Microsoft's own sample files have it).
func (p *Project) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(p.FS, name)
	return StripBOM(data), err
}

// StripBOM removes a leading UTF-8 byte order mark.
func StripBOM(data []byte) []byte { return bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) }

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// DecodeYAML strictly decodes a YAML file into v: unknown keys are problems.
func (p *Project) DecodeYAML(name string, v any) Problems {
	data, err := p.ReadFile(name)
	if err != nil {
		return Problems{{File: name, Message: err.Error()}}
	}
	return DecodeYAML(name, data, v)
}

// DecodeYAML strictly decodes YAML data from file name into v. It returns
// every problem the decoder found, worded in the file's terms (key paths,
// the kind of value expected, the known key a mistyped one meant).
func DecodeYAML(name string, data []byte, v any) Problems {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) { // an empty file is an empty document
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return yamlProblems(name, data, v, te)
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pr := Problem{File: name, Message: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pr.Line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			pr.Column, _ = strconv.Atoi(m[2])
		}
		pr.Message = strings.TrimSpace(strings.TrimPrefix(strings.Replace(msg, m[0], "", 1), ":"))
	}
	return Problems{pr}
}

// DecodeJSON strictly decodes a JSON file into v: unknown keys are problems.
func (p *Project) DecodeJSON(name string, v any) Problems {
	data, err := p.ReadFile(name)
	if err != nil {
		return Problems{{File: name, Message: err.Error()}}
	}
	return DecodeJSON(name, data, v)
}

// DecodeJSON strictly decodes JSON data from file name into v, wording a
// problem as JSONProblem does. A leading UTF-8 byte order mark is accepted.
func DecodeJSON(name string, data []byte, v any) Problems {
	data = StripBOM(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		line, col := Position(data, dec.InputOffset())
		return Problems{{File: name, Line: line, Column: col, Message: "unexpected data after the top-level value"}}
	}
	if err == nil {
		return nil
	}
	pr := JSONProblem(name, data, v, err)
	if pr.Line == 0 { // an error of a value's own decoding: where the decoder stopped
		pr.Line, pr.Column = Position(data, dec.InputOffset())
	}
	return Problems{pr}
}

// Position turns a byte offset into a 1-based line and column.
func Position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col = 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
