package project

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"junction/internal/suggest"
)

// The decoders' own messages name Go types ("field colour not found in type
// project.Manifest", "cannot unmarshal number into Go struct field
// .UserConfig.Namespaces.Name of type string"). A person writing a project
// file knows keys and values, not Go, so the problems below say where in the
// file (the key path), what was expected there in the file's own terms, and
// which known key a mistyped one most likely meant.

// pathStep is one step of a key path: a key, or an index when Key is "".
type pathStep struct {
	Key   string
	Index int
}

type keyPath []pathStep

func (p keyPath) String() string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case s.Key == "":
			fmt.Fprintf(&b, "[%d]", s.Index)
		case plainKey.MatchString(s.Key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Key)
		default:
			fmt.Fprintf(&b, "[%q]", s.Key)
		}
	}
	return b.String()
}

func (p keyPath) with(s pathStep) keyPath {
	return append(p[:len(p):len(p)], s)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_$@][A-Za-z0-9_$@-]*$`)

// at prefixes a message with the key path it is about ("columns[0].type: ").
func at(p keyPath, msg string) string {
	if len(p) == 0 {
		return msg
	}
	return p.String() + ": " + msg
}

// fileFlavor is how a file format names its kinds of value.
type fileFlavor int

const (
	flavorJSON fileFlavor = iota
	flavorYAML
)

// fieldName is the key a struct field is written as in the file, "" for
// a field the format skips; inline reports a field whose keys are its own.
func (f fileFlavor) fieldName(sf reflect.StructField) (name string, inline bool) {
	if !sf.IsExported() {
		return "", false
	}
	tagKey := "json"
	if f == flavorYAML {
		tagKey = "yaml"
	}
	tag, opts, _ := strings.Cut(sf.Tag.Get(tagKey), ",")
	if tag == "-" && opts == "" {
		return "", false
	}
	if f == flavorYAML {
		if strings.Contains(","+opts+",", ",inline,") {
			return "", true
		}
		if tag == "" {
			return strings.ToLower(sf.Name), false
		}
		return tag, false
	}
	if tag == "" && sf.Anonymous && indirect(sf.Type).Kind() == reflect.Struct {
		return "", true
	}
	if tag == "" {
		return sf.Name, false
	}
	return tag, false
}

func indirect(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// keysOf lists the keys a struct type is written with, in field order.
func (f fileFlavor) keysOf(t reflect.Type) []string {
	t = indirect(t)
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := range t.NumField() {
		sf := t.Field(i)
		name, inline := f.fieldName(sf)
		switch {
		case inline:
			keys = append(keys, f.keysOf(sf.Type)...)
		case name != "":
			keys = append(keys, name)
		}
	}
	return keys
}

// field finds the type of the struct field written as key; JSON matches
// keys without regard to case, as encoding/json does.
func (f fileFlavor) field(t reflect.Type, key string) (reflect.Type, bool) {
	t = indirect(t)
	if t == nil || t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, inline := f.fieldName(sf)
		if inline {
			if ft, ok := f.field(sf.Type, key); ok {
				return ft, true
			}
			continue
		}
		if name == key || (f == flavorJSON && name != "" && strings.EqualFold(name, key)) {
			return sf.Type, true
		}
	}
	return nil, false
}

// typeAt follows a key path through a type; nil when the path leaves what
// the type says (a value decoded by its own code, or any value at all).
func (f fileFlavor) typeAt(t reflect.Type, p keyPath) reflect.Type {
	for _, s := range p {
		t = indirect(t)
		if t == nil {
			return nil
		}
		switch t.Kind() {
		case reflect.Struct:
			ft, ok := f.field(t, s.Key)
			if !ok {
				return nil
			}
			t = ft
		case reflect.Map:
			t = t.Elem()
		case reflect.Slice, reflect.Array:
			if s.Key != "" {
				return nil
			}
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}

// typesByName indexes the types reachable from t by their Go names, the
// names the decoders' messages use.
func typesByName(t reflect.Type, seen map[string]reflect.Type) {
	if t == nil {
		return
	}
	if _, ok := seen[t.String()]; ok {
		return
	}
	seen[t.String()] = t
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		typesByName(t.Elem(), seen)
	case reflect.Map:
		typesByName(t.Key(), seen)
		typesByName(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			typesByName(t.Field(i).Type, seen)
		}
	}
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// expected says in the file's terms what kind of value a type takes.
func (f fileFlavor) expected(t reflect.Type) string {
	t = indirect(t)
	if t == nil {
		return "another kind of value"
	}
	switch t {
	case durationType:
		return `a duration such as "30s" or "5m"`
	case timeType:
		return `a date and time such as "2025-01-31T09:00:00Z"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if f == flavorYAML {
			return "a list"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		if f == flavorYAML {
			return "a mapping of keys to values"
		}
		return "an object"
	case reflect.Interface:
		return "any value"
	}
	return "another kind of value"
}

// expectedByName is expected for a type known only by its Go name.
func (f fileFlavor) expectedByName(name string, types map[string]reflect.Type) string {
	if t, ok := types[name]; ok {
		return f.expected(t)
	}
	switch {
	case name == "string":
		return "a string"
	case name == "bool":
		return "true or false"
	case strings.HasPrefix(name, "int"):
		return "a whole number"
	case strings.HasPrefix(name, "uint"):
		return "a whole number, 0 or more"
	case strings.HasPrefix(name, "float"):
		return "a number"
	case strings.HasPrefix(name, "[]"):
		return f.expected(reflect.TypeFor[[]any]())
	case strings.HasPrefix(name, "map["), strings.HasPrefix(name, "struct"):
		return f.expected(reflect.TypeFor[map[string]any]())
	}
	return "another kind of value"
}

// unknownKey words a key no field takes, with the likeliest meant one.
func unknownKey(key string, known []string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest.Closest(key, known); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", s)
	}
	if len(known) > 0 && len(known) <= 12 {
		return msg + "; the keys here are " + strings.Join(known, ", ")
	}
	return msg
}

// --- YAML ---

// yamlSpot is a key or value of a YAML document with its place.
type yamlSpot struct {
	path      keyPath // of the value; of the mapping for a key
	key       bool
	value     string
	tag       string
	line, col int
}

func yamlSpots(data []byte) []yamlSpot {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var spots []yamlSpot
	var walk func(n *yaml.Node, p keyPath, depth int)
	walk = func(n *yaml.Node, p keyPath, depth int) {
		if n == nil || depth > 200 {
			return
		}
		spots = append(spots, yamlSpot{path: p, value: n.Value, tag: n.ShortTag(), line: n.Line, col: n.Column})
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) > 0 {
				spots = spots[:len(spots)-1]
				walk(n.Content[0], p, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, p.with(pathStep{Index: i}), depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				spots = append(spots, yamlSpot{path: p, key: true, value: k.Value, line: k.Line, col: k.Column})
				walk(n.Content[i+1], p.with(pathStep{Key: k.Value}), depth+1)
			}
		}
	}
	walk(&doc, nil, 0)
	return spots
}

var (
	yamlNotFound  = regexp.MustCompile("(?s)^line (\\d+): field (.*) not found in type (.+)$")
	yamlSetTwice  = regexp.MustCompile("(?s)^line (\\d+): field (.*) already set in type (.+)$")
	yamlWrongKind = regexp.MustCompile("(?s)^line (\\d+): cannot unmarshal (!\\S*)(?: `(.*)`)? into (.+)$")
	yamlAnyLine   = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
)

// yamlFound names what a YAML value is.
func yamlFound(tag, value string) string {
	switch tag {
	case "!!str":
		return fmt.Sprintf("the string %q", value)
	case "!!int", "!!float":
		return "the number " + value
	case "!!bool":
		return value
	case "!!null":
		return "nothing"
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!timestamp":
		return "the date " + value
	}
	return fmt.Sprintf("a value tagged %s", tag)
}

// shapeOfTag and shapeOfType say whether a YAML value or a type is a
// mapping, a list or a single value.
func shapeOfTag(tag string) string {
	switch tag {
	case "!!map", "!!seq":
		return tag
	}
	return "scalar"
}

func shapeOfType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "!!map"
	case reflect.Slice, reflect.Array:
		return "!!seq"
	}
	return "scalar"
}

// maxProblemsPerFile bounds the problems told of one file.
const maxProblemsPerFile = 20

// yamlProblems words a strict YAML decoder's type errors.
func yamlProblems(name string, data []byte, v any, te *yaml.TypeError) Problems {
	byLine := map[int][]yamlSpot{}
	for _, s := range yamlSpots(data) {
		byLine[s.line] = append(byLine[s.line], s)
	}
	root := reflect.TypeOf(v)
	types := map[string]reflect.Type{}
	typesByName(root, types)
	find := func(line int, ok func(yamlSpot) bool) (yamlSpot, bool) {
		for _, s := range byLine[line] {
			if ok(s) {
				return s, true
			}
		}
		return yamlSpot{}, false
	}
	var out Problems
	for i, e := range te.Errors {
		if i == maxProblemsPerFile {
			// An alias used many times repeats its problems.
			out = append(out, Problem{File: name, Line: out[i-1].Line, Column: out[i-1].Column,
				Message: fmt.Sprintf("and %d more problems in this file", len(te.Errors)-i)})
			break
		}
		pr := Problem{File: name, Message: e}
		if m := yamlNotFound.FindStringSubmatch(e); m != nil {
			pr.Line, _ = strconv.Atoi(m[1])
			key := m[2]
			s, ok := find(pr.Line, func(s yamlSpot) bool { return s.key && s.value == key })
			t := types[m[3]]
			if ok {
				pr.Column = s.col
				if pt := flavorYAML.typeAt(root, s.path); pt != nil && indirect(pt).Kind() == reflect.Struct {
					t = pt
				}
			}
			pr.Message = at(s.path, unknownKey(key, flavorYAML.keysOf(t)))
		} else if m := yamlSetTwice.FindStringSubmatch(e); m != nil {
			pr.Line, _ = strconv.Atoi(m[1])
			s, _ := find(pr.Line, func(s yamlSpot) bool { return s.key && s.value == m[2] })
			pr.Column = s.col
			pr.Message = at(s.path, fmt.Sprintf("the key %q is given twice", m[2]))
		} else if m := yamlWrongKind.FindStringSubmatch(e); m != nil {
			pr.Line, _ = strconv.Atoi(m[1])
			tag, shown, goType := m[2], m[3], m[4]
			prefix := strings.TrimSuffix(shown, "...")
			match := func(s yamlSpot) bool { return !s.key && s.tag == tag && strings.HasPrefix(s.value, prefix) }
			// Of the values on the line, the one whose type cannot take
			// a value of its shape (a mapping where a list goes); else
			// the first.
			s, ok := find(pr.Line, func(s yamlSpot) bool {
				t := indirect(flavorYAML.typeAt(root, s.path))
				return match(s) && t != nil && t.Kind() != reflect.Interface && shapeOfType(t) != shapeOfTag(tag)
			})
			if !ok {
				s, ok = find(pr.Line, match)
			}
			found := yamlFound(tag, shown)
			want := flavorYAML.expectedByName(goType, types)
			if ok {
				pr.Column = s.col
				found = yamlFound(tag, s.value)
				if t := flavorYAML.typeAt(root, s.path); t != nil {
					want = flavorYAML.expected(t)
				}
			}
			pr.Message = at(s.path, "expected "+want+", found "+found)
		} else if m := yamlAnyLine.FindStringSubmatch(e); m != nil {
			pr.Line, _ = strconv.Atoi(m[1])
			pr.Message = m[2]
		}
		out = append(out, pr)
	}
	return out
}

// --- JSON ---

// jsonSpot is a key or the first token of a value of a JSON document, with
// the offsets just before and after it.
type jsonSpot struct {
	path       keyPath // of the value; of the object for a key
	key        bool
	text       string
	start, end int64
}

func jsonSpots(data []byte) []jsonSpot {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object  bool
		index   int    // of the array's current value
		wantKey bool   // an object's next token is a key
		key     string // of the object's current value
	}
	var stack []*frame
	var spots []jsonSpot
	var prev int64
	// done moves the enclosing container past a finished value.
	done := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return spots
		}
		end := dec.InputOffset()
		start := prev
		for start < end && bytes.IndexByte([]byte(" \t\r\n,:"), data[start]) >= 0 {
			start++
		}
		prev = end
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		var p keyPath
		for _, f := range stack {
			if f.object {
				p = p.with(pathStep{Key: f.key})
			} else {
				p = p.with(pathStep{Index: f.index})
			}
		}
		if len(stack) > 0 {
			if top := stack[len(stack)-1]; top.object && top.wantKey {
				k, _ := tok.(string)
				top.key, top.wantKey = k, false
				spots = append(spots, jsonSpot{path: p[:len(p)-1], key: true, text: k, start: start, end: end})
				continue
			}
		}
		spots = append(spots, jsonSpot{path: p, start: start, end: end})
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', wantKey: d == '{'})
			continue
		}
		done()
	}
}

// jsonFound names what a JSON value is, from encoding/json's word for it.
func jsonFound(value string) string {
	switch {
	case value == "number", value == "string", value == "object", value == "array":
		return map[string]string{"number": "a number", "string": "a string", "object": "an object", "array": "an array"}[value]
	case value == "bool":
		return "true or false"
	case strings.HasPrefix(value, "number "):
		return "the number " + strings.TrimPrefix(value, "number ")
	}
	return value
}

var jsonUnknown = regexp.MustCompile(`^json: unknown field (".*")$`)

// jsonProblem words a JSON decoder's error; ok is false when it is not one
// of the errors that name Go types.
func jsonProblem(name string, data []byte, v any, err error) (Problem, bool) {
	var typ *json.UnmarshalTypeError
	root := reflect.TypeOf(v)
	switch {
	case errors.As(err, &typ):
		for _, s := range jsonSpots(data) {
			if s.key || s.end != typ.Offset {
				continue
			}
			line, col := Position(data, s.start)
			return Problem{File: name, Line: line, Column: col,
				Message: at(s.path, "expected "+flavorJSON.expected(typ.Type)+", found "+jsonFound(typ.Value))}, true
		}
		line, col := Position(data, typ.Offset)
		msg := "expected " + flavorJSON.expected(typ.Type) + ", found " + jsonFound(typ.Value)
		if typ.Field != "" {
			msg = typ.Field + ": " + msg
		}
		return Problem{File: name, Line: line, Column: col, Message: msg}, true
	case jsonUnknown.MatchString(err.Error()):
		key, uerr := strconv.Unquote(jsonUnknown.FindStringSubmatch(err.Error())[1])
		if uerr != nil {
			return Problem{}, false
		}
		var first *jsonSpot
		spots := jsonSpots(data)
		for i, s := range spots {
			if !s.key || s.text != key {
				continue
			}
			t := flavorJSON.typeAt(root, s.path)
			if t == nil || indirect(t).Kind() != reflect.Struct {
				if first == nil {
					first = &spots[i]
				}
				continue
			}
			if _, known := flavorJSON.field(t, key); known {
				continue
			}
			line, col := Position(data, s.start)
			return Problem{File: name, Line: line, Column: col, Message: at(s.path, unknownKey(key, flavorJSON.keysOf(t)))}, true
		}
		if first != nil {
			line, col := Position(data, first.start)
			return Problem{File: name, Line: line, Column: col, Message: at(first.path, unknownKey(key, nil))}, true
		}
		return Problem{File: name, Message: unknownKey(key, nil)}, true
	}
	return Problem{}, false
}

// JSONProblem words any error from decoding JSON data of file name into v
// (by json.Unmarshal or a Decoder) as a problem with its place in the file,
// the key path, and what was expected, without Go's type names.
func JSONProblem(name string, data []byte, v any, err error) Problem {
	data = StripBOM(data)
	if pr, ok := jsonProblem(name, data, v, err); ok {
		return pr
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := Position(data, max(syn.Offset-1, 0)) // Offset is just past the offending byte
		return Problem{File: name, Line: line, Column: col, Message: strings.TrimPrefix(syn.Error(), "json: ")}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if errors.Is(err, io.ErrUnexpectedEOF) || msg == "unexpected end of JSON input" {
		line, col := Position(data, int64(len(data)))
		return Problem{File: name, Line: line, Column: col, Message: "the file ends before its value does"}
	}
	return Problem{File: name, Message: msg}
}
