package records

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"
)

// standardFiles describe the standard tables an org has, one table a file,
// each from Microsoft's Dataverse table reference (the file names its page),
// plus the few tables Junction adds of its own (their source says so).
//
//go:embed standard/*.yaml
var standardFiles embed.FS

var standard struct {
	once   sync.Once
	tables []Table
	err    error
}

// loadStandard decodes the standard table descriptions, strictly: an unknown
// field is an error, so that a typo in a description cannot pass unseen.
func loadStandard() ([]Table, error) {
	standard.once.Do(func() {
		names, err := fs.Glob(standardFiles, "standard/*.yaml")
		if err != nil {
			standard.err = err
			return
		}
		sort.Strings(names)
		for _, n := range names {
			data, err := standardFiles.ReadFile(n)
			if err != nil {
				standard.err = err
				return
			}
			var t Table
			dec := yaml.NewDecoder(bytes.NewReader(data))
			dec.KnownFields(true)
			if err := dec.Decode(&t); err != nil {
				standard.err = fmt.Errorf("%s: %w", path.Base(n), err)
				return
			}
			if t.Name+".yaml" != path.Base(n) {
				standard.err = fmt.Errorf("%s describes table %q", path.Base(n), t.Name)
				return
			}
			standard.tables = append(standard.tables, t)
		}
	})
	return standard.tables, standard.err
}

// Builtin returns the out-of-the-box tables: the standard tables of an org
// (see standard/), unprepared, each a copy the caller may change.
func Builtin() []Table {
	tables, err := loadStandard()
	if err != nil {
		// The descriptions are compiled in and checked by the tests.
		panic("records: standard tables: " + err.Error())
	}
	out := make([]Table, len(tables))
	for i, t := range tables {
		out[i] = t.clone()
	}
	return out
}

// clone copies t deeply enough that preparing the copy leaves t as it was.
func (t Table) clone() Table {
	t.Columns = append([]Column(nil), t.Columns...)
	for i := range t.Columns {
		c := &t.Columns[i]
		c.Targets = append([]string(nil), c.Targets...)
		c.Links = append([]Link(nil), c.Links...)
		c.Options = append([]Option(nil), c.Options...)
		if c.Rollup != nil {
			r := *c.Rollup
			c.Rollup = &r
		}
	}
	t.AttributeMaps = append([]AttributeMap(nil), t.AttributeMaps...)
	t.Keys = append([]Key(nil), t.Keys...)
	for i := range t.Keys {
		t.Keys[i].Columns = append([]string(nil), t.Keys[i].Columns...)
	}
	if t.Intersect != nil {
		in := *t.Intersect
		t.Intersect = &in
	}
	t.cols, t.navs, t.columnSets, t.image, t.blank, t.place = nil, nil, nil, nil, nil, nil
	return t
}

// IsStandard reports whether name is one of the standard tables.
func IsStandard(name string) bool {
	tables, _ := loadStandard()
	for _, t := range tables {
		if t.Name == name {
			return true
		}
	}
	return false
}
