package job

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"junction/internal/job/format"
	"junction/internal/job/sink"
)

// Resolver finds the value of lookup.Return in the row of lookup.Table whose
// lookup.Key equals value. Sinks implement it against their own storage.
type Resolver interface {
	Resolve(ctx context.Context, l Lookup, value string) (any, bool, error)
}

// mapper applies a job's mapping and validation to records.
type mapper struct {
	maps     []Mapping
	exprs    []*expr
	cols     []format.Column
	key      []string
	schema   *jsonschema.Schema
	resolver Resolver
	cache    map[string]lookupResult
}

type lookupResult struct {
	v     any
	found bool
}

const lookupCacheSize = 100_000

func newMapper(s *Spec, srcCols []format.Column, schema *jsonschema.Schema, r Resolver) (*mapper, error) {
	m := &mapper{maps: s.Mapping, key: s.Key, schema: schema, resolver: r, cache: map[string]lookupResult{}}
	if len(m.maps) == 0 {
		for _, c := range srcCols {
			m.maps = append(m.maps, Mapping{To: c.Name, From: c.Name, Type: c.Type})
		}
	}
	if len(m.maps) == 0 {
		return nil, errors.New("the job has no mapping and the source does not name its columns")
	}
	for _, mp := range m.maps {
		var e *expr
		if mp.Expr != "" {
			var err error
			if e, err = parseExpr(mp.Expr); err != nil {
				return nil, err
			}
		}
		m.exprs = append(m.exprs, e)
		m.cols = append(m.cols, format.Column{Name: mp.To, Type: mp.Type})
	}
	return m, nil
}

// row maps and validates rec. A non-nil error is not about the row (a lookup
// that could not be asked) and ends the run.
func (m *mapper) row(ctx context.Context, rec format.Record, deleted bool) (Row, []Reject, error) {
	var rejects []Reject
	if m.schema != nil && !deleted {
		if err := m.schema.Validate(jsonValue(rec.Fields)); err != nil {
			rejects = append(rejects, schemaRejects(rec.Line, err)...)
		}
	}
	out := Row{Line: rec.Line, Values: make(map[string]any, len(m.maps)), Deleted: deleted}
	for i, mp := range m.maps {
		bad := func(reason string, v any) {
			rejects = append(rejects, Reject{Line: rec.Line, Column: mp.To, Reason: reason, Value: sink.Truncate(format.Text(v), 200)})
		}
		var raw any
		switch {
		case m.exprs[i] != nil:
			v, err := m.exprs[i].eval(rec.Fields)
			if err != nil {
				bad(err.Error(), nil)
				continue
			}
			raw = v
		case mp.Const != nil:
			raw = mp.Const
		default:
			raw = fieldValue(rec.Fields, mp.From)
		}
		if raw == nil || format.Text(raw) == "" {
			raw = mp.Default
		}
		if deleted && !contains(m.key, mp.To) {
			out.Values[mp.To] = nil
			continue
		}
		if mp.Choices != nil && raw != nil {
			v, err := choice(mp, raw)
			if err != nil {
				bad(err.Error(), raw)
				continue
			}
			raw = v
		}
		if mp.Lookup != nil && raw != nil {
			text := format.Text(raw)
			v, found, err := m.resolve(ctx, *mp.Lookup, text)
			if err != nil {
				return Row{}, nil, fmt.Errorf("line %d, column %s: resolve %s: %w", rec.Line, mp.To, mp.Lookup.Table, err)
			}
			if !found {
				bad(fmt.Sprintf("no %s row has %s = %q", mp.Lookup.Table, mp.Lookup.Key, text), raw)
				continue
			}
			raw = v
		}
		v, err := format.Convert(raw, mp.Type, mp.Format)
		if err != nil {
			bad(err.Error(), raw)
			continue
		}
		if v == nil && mp.Required {
			bad("a value is required", nil)
			continue
		}
		if s, ok := v.(string); ok && mp.MaxLength > 0 && utf8.RuneCountInString(s) > mp.MaxLength {
			bad(fmt.Sprintf("longer than %d characters", mp.MaxLength), s)
			continue
		}
		if v != nil && len(mp.Values) > 0 && !contains(mp.Values, format.Text(v)) {
			bad("not one of "+strings.Join(mp.Values, ", "), v)
			continue
		}
		out.Values[mp.To] = v
	}
	for _, k := range m.key {
		if out.Values[k] == nil && !hasReject(rejects, k) {
			rejects = append(rejects, Reject{Line: rec.Line, Column: k, Reason: "the key column is empty"})
		}
	}
	return out, rejects, nil
}

func hasReject(rs []Reject, col string) bool {
	for _, r := range rs {
		if r.Column == col {
			return true
		}
	}
	return false
}

// choice turns a label into its value (for numeric columns) or a value into
// its label (for string columns).
func choice(mp Mapping, raw any) (any, error) {
	text := strings.TrimSpace(format.Text(raw))
	labels := make([]string, 0, len(mp.Choices))
	for label, value := range mp.Choices {
		labels = append(labels, label)
		if mp.Type == format.TypeString {
			if text == strconv.FormatInt(value, 10) || strings.EqualFold(text, label) {
				return label, nil
			}
			continue
		}
		if strings.EqualFold(text, label) || text == strconv.FormatInt(value, 10) {
			return value, nil
		}
	}
	sort.Strings(labels)
	return nil, fmt.Errorf("not one of the choices %s", strings.Join(labels, ", "))
}

func (m *mapper) resolve(ctx context.Context, l Lookup, value string) (any, bool, error) {
	if m.resolver == nil {
		return nil, false, errors.New("the sink cannot resolve lookups")
	}
	ck := l.Table + "\x00" + l.Key + "\x00" + l.Return + "\x00" + value
	if r, ok := m.cache[ck]; ok {
		return r.v, r.found, nil
	}
	v, found, err := m.resolver.Resolve(ctx, l, value)
	if err != nil {
		return nil, false, err
	}
	if len(m.cache) >= lookupCacheSize {
		clear(m.cache)
	}
	m.cache[ck] = lookupResult{v, found}
	return v, found, nil
}

// jsonValue converts decoded JSON (json.Number) to what jsonschema expects.
func jsonValue(fields map[string]any) any {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(fields); err != nil {
		return fields
	}
	v, err := jsonschema.UnmarshalJSON(&b)
	if err != nil {
		return fields
	}
	return v
}

var english = message.NewPrinter(language.English)

func schemaRejects(line int64, err error) []Reject {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Reject{{Line: line, Reason: "JSON Schema: " + err.Error()}}
	}
	var out []Reject
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, Reject{Line: line, Column: strings.Join(e.InstanceLocation, "."), Reason: "JSON Schema: " + e.ErrorKind.LocalizedString(english)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// compileSchema compiles a JSON Schema document.
func compileSchema(doc []byte) (*jsonschema.Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("the JSON Schema is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource("job-schema.json", v); err != nil {
		return nil, err
	}
	return c.Compile("job-schema.json")
}

// noLoader refuses to fetch referenced schemas: every schema is local.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not loaded: references must stay within the schema", url)
}
