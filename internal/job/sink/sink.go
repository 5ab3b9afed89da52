// Package sink is what every sink of a job shares with the runner that feeds
// it: the mapped rows it is given, the lookups it resolves, what it reports
// back (counts, rejects, a tally of what it holds), and the key text and
// checksum of a row by which the runner reconciles the sink with the source.
// One package below it per kind of sink writes the rows.
package sink

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"junction/internal/job/format"
)

// Row is a mapped row ready for a sink.
type Row struct {
	Line    int64
	Values  map[string]any
	Deleted bool
	// Sum is the live row's checksum as the job mapped it (Hash of the
	// job's columns), for the reconciliation: the runner reads it, sinks
	// need not.
	Sum [32]byte
}

// Reject is one problem with one row, as the rejects file lists it.
type Reject struct {
	Line   int64  `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
	Value  string `json:"value,omitempty"`
}

// Counts are what a run did to the sink.
type Counts struct {
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Deleted   int64 `json:"deleted"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Unchanged += o.Unchanged
	c.Deleted += o.Deleted
}

// Lookup finds Return in Table where Key equals the value.
type Lookup struct {
	Table  string `yaml:"table" json:"table"`
	Key    string `yaml:"key" json:"key"`
	Return string `yaml:"return" json:"return"`
}

// Plan is what a sink is opened with.
type Plan struct {
	Cols  []format.Column
	Key   []string
	RunID int64
	// Resume says the run goes on from a checkpoint; output already
	// committed by the earlier attempt stays.
	Resume bool
}

// Tally is an order-independent count and checksum of rows: the sum of the
// first eight bytes of each row's SHA-256 of its key and values.
type Tally struct {
	Rows int64
	Sum  uint64
}

// Add counts the row of key whose checksum is h.
func (t *Tally) Add(key string, h [32]byte) {
	t.Rows++
	t.Sum += keyed(key, h)
}

func keyed(key string, h [32]byte) uint64 {
	var k uint64 = 1469598103934665603
	for i := 0; i < len(key); i++ { // FNV-1a of the key, mixed into the row hash
		k ^= uint64(key[i])
		k *= 1099511628211
	}
	return binary.LittleEndian.Uint64(h[:8]) ^ k
}

// KeyOf is the text of a row's key columns, for reconciliation and messages.
func KeyOf(key []string, values map[string]any) string {
	if len(key) == 1 {
		return format.Text(values[key[0]])
	}
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = format.Text(values[k])
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

// Hash is a checksum of a row's values as canonical text, column by column.
func Hash(cols []format.Column, values map[string]any) [32]byte {
	// The row's framed text goes through SHA-256 in one write: a write per
	// field costs more than the hashing itself for short values.
	buf := make([]byte, 0, 256)
	for _, c := range cols {
		buf = appendField(buf, c, values[c.Name])
	}
	return sha256.Sum256(buf)
}

// HashValues is Hash of a row given as its values in the order of cols.
func HashValues(cols []format.Column, values []any) [32]byte {
	buf := make([]byte, 0, 256)
	for i, c := range cols {
		buf = appendField(buf, c, values[i])
	}
	return sha256.Sum256(buf)
}

// appendField frames one column's name and canonical text.
func appendField(buf []byte, c format.Column, v any) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(c.Name)))
	buf = append(buf, c.Name...)
	// The values a mapping and the drivers give most often are framed
	// without converting them (which boxes a new value), as canonical would.
	var scratch [32]byte
	var t []byte
	switch x := v.(type) {
	case string:
		// An untyped column's text is trimmed; a string column's is not. A
		// decimal already in its normal form, and a date written as
		// YYYY-MM-DD, are their own canonical text: a date that does not
		// exist fails to convert and is framed as given, as canonical does.
		switch {
		case c.Type == format.TypeString, c.Type == "" && trimmed(x):
		case c.Type == format.TypeDecimal && format.NormalDecimal(x), c.Type == format.TypeDate && dateText(x):
		default:
			return appendCanonical(buf, c.Type, v)
		}
		if x == "" {
			return binary.LittleEndian.AppendUint64(buf, ^uint64(0))
		}
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(x)))
		return append(buf, x...)
	case int64:
		if c.Type != format.TypeInt {
			return appendCanonical(buf, c.Type, v)
		}
		t = strconv.AppendInt(scratch[:0], x, 10)
	case time.Time:
		if y := x.UTC().Year(); c.Type != format.TypeDate || y < 0 || y > 9999 {
			return appendCanonical(buf, c.Type, v)
		}
		t = x.UTC().AppendFormat(scratch[:0], time.DateOnly)
	default:
		return appendCanonical(buf, c.Type, v)
	}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(t)))
	return append(buf, t...)
}

// dateText says s is four, two and two digits joined by hyphens.
func dateText(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// trimmed says s has no space to trim at either end (strings.TrimSpace
// would return it as it is).
func trimmed(s string) bool {
	if s == "" {
		return true
	}
	space := func(b byte) bool { return b >= utf8.RuneSelf || b == ' ' || b >= '\t' && b <= '\r' }
	return !space(s[0]) && !space(s[len(s)-1])
}

// appendCanonical frames v's canonical text, its name already framed.
func appendCanonical(buf []byte, typ string, v any) []byte {
	t, null := canonical(typ, v)
	if null {
		return binary.LittleEndian.AppendUint64(buf, ^uint64(0))
	}
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(t)))
	return append(buf, t...)
}

// canonical renders v of typ as text that equal values share however a
// database returned them.
func canonical(typ string, v any) (text string, null bool) {
	c, err := format.Convert(v, typ, "")
	if err != nil {
		return format.Text(v), v == nil
	}
	if c == nil {
		return "", true
	}
	if typ == format.TypeDate {
		return format.Text(c)[:10], false
	}
	return format.Text(c), false
}

// Dedupe keeps the last row of each key in a chunk.
// A chunk without repeated keys comes back as it is.
func Dedupe(key []string, rows []Row) []Row {
	if ascending(key, rows) {
		return rows
	}
	seen := make(map[string]int, len(rows))
	var out []Row
	for j, r := range rows {
		k := KeyOf(key, r.Values)
		i, ok := seen[k]
		if ok && out == nil {
			out = append(make([]Row, 0, len(rows)), rows[:j]...)
		}
		if ok {
			out[i] = r
			continue
		}
		seen[k] = len(seen)
		if out != nil {
			out = append(out, r)
		}
	}
	if out == nil {
		return rows
	}
	return out
}

// ascending says that rows come in strictly increasing order of their keys'
// text, as a file exported by its key does, and so repeat no key: found
// without the map that Dedupe otherwise fills. It stops at the first row out
// of order.
func ascending(key []string, rows []Row) bool {
	var last string
	for i, r := range rows {
		k := KeyOf(key, r.Values)
		if i > 0 && k <= last {
			return false
		}
		last = k
	}
	return true
}

// Truncate cuts s to at most n bytes at a character boundary, marking the
// cut: a reject's value is kept short.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
