package records

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"junction/internal/store"
)

var autoToken = regexp.MustCompile(`\{(SEQNUM|RANDSTRING):(\d+)\}`)

type autoPart struct {
	lit   string
	kind  string
	width int
}

func parseAutoFormat(f string) ([]autoPart, error) {
	var parts []autoPart
	last, seq := 0, 0
	for _, m := range autoToken.FindAllStringSubmatchIndex(f, -1) {
		if m[0] > last {
			parts = append(parts, autoPart{lit: f[last:m[0]]})
		}
		w, _ := strconv.Atoi(f[m[4]:m[5]])
		kind := f[m[2]:m[3]]
		if w < 1 || w > 9 {
			return nil, fmt.Errorf("auto-number width %d must be 1..9", w)
		}
		if kind == "SEQNUM" {
			seq++
		}
		parts = append(parts, autoPart{kind: kind, width: w})
		last = m[1]
	}
	if last < len(f) {
		parts = append(parts, autoPart{lit: f[last:]})
	}
	if seq != 1 {
		return nil, fmt.Errorf("auto-number format %q needs exactly one {SEQNUM:n}", f)
	}
	if strings.ContainsAny(f[last:], "{}") {
		return nil, fmt.Errorf("auto-number format %q has an unknown placeholder", f)
	}
	return parts, nil
}

const randAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// nextAutoNumber draws the next value of an auto-number column inside tx.
func nextAutoNumber(ctx context.Context, tx store.Tx, t *Table, c *Column) (string, error) {
	parts, err := parseAutoFormat(c.Format)
	if err != nil {
		return "", err
	}
	var n int64
	err = tx.QueryRow(ctx, `UPDATE records_autonumbers SET next_value = next_value + 1
		WHERE table_name = ? AND column_name = ? RETURNING next_value - 1`, t.Name, c.Name).Scan(&n)
	if err != nil {
		seed := c.Seed
		if seed == 0 {
			seed = 1000
		}
		if _, err := tx.Exec(ctx, `INSERT INTO records_autonumbers (table_name, column_name, next_value) VALUES (?, ?, ?)`, t.Name, c.Name, seed+1); err != nil {
			return "", fmt.Errorf("auto-number %s.%s: %w", t.Name, c.Name, err)
		}
		n = seed
	}
	var b strings.Builder
	for _, p := range parts {
		switch p.kind {
		case "":
			b.WriteString(p.lit)
		case "SEQNUM":
			fmt.Fprintf(&b, "%0*d", p.width, n)
		case "RANDSTRING":
			r := make([]byte, p.width)
			rand.Read(r)
			for _, x := range r {
				b.WriteByte(randAlphabet[int(x)%len(randAlphabet)])
			}
		}
	}
	return b.String(), nil
}
