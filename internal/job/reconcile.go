package job

import (
	"fmt"
	"sort"

	"junction/internal/job/sink"
)

// Reconciliation compares what the source gave with what the target holds
// after the run.
type Reconciliation struct {
	// Method is "per-key" (each applied chunk read back from the target by key)
	// or "read-back" (the written file read back and tallied).
	Method         string   `json:"method"`
	SourceRows     int64    `json:"sourceRows"`
	TargetRows     int64    `json:"targetRows"`
	SourceChecksum string   `json:"sourceChecksum"`
	TargetChecksum string   `json:"targetChecksum"`
	Missing        []string `json:"missing,omitempty"`   // keys not found in the target
	Different      []string `json:"different,omitempty"` // keys whose values differ
	MissingCount   int64    `json:"missingCount"`
	DifferentCount int64    `json:"differentCount"`
	Deletes        int64    `json:"deletes"` // deletions, not part of the checksums
	Matched        bool     `json:"matched"`
}

const maxListedKeys = 100

type reconciler struct {
	r      Reconciliation
	source sink.Tally
	target sink.Tally
}

func (rc *reconciler) chunk(rows []Row, key []string, cols []keyHash, got map[string][32]byte) {
	for _, c := range cols {
		rc.source.Add(c.key, c.hash)
		th, ok := got[c.key]
		switch {
		case !ok:
			rc.r.MissingCount++
			if len(rc.r.Missing) < maxListedKeys {
				rc.r.Missing = append(rc.r.Missing, c.key)
			}
		case th != c.hash:
			rc.target.Add(c.key, th)
			rc.r.DifferentCount++
			if len(rc.r.Different) < maxListedKeys {
				rc.r.Different = append(rc.r.Different, c.key)
			}
		default:
			rc.target.Add(c.key, th)
		}
	}
}

type keyHash struct {
	key  string
	hash [32]byte
}

func (rc *reconciler) result() *Reconciliation {
	r := rc.r
	r.SourceRows, r.TargetRows = rc.source.Rows, rc.target.Rows
	r.SourceChecksum = fmt.Sprintf("%016x", rc.source.Sum)
	r.TargetChecksum = fmt.Sprintf("%016x", rc.target.Sum)
	sort.Strings(r.Missing)
	sort.Strings(r.Different)
	r.Matched = r.MissingCount == 0 && r.DifferentCount == 0 && r.SourceRows == r.TargetRows && rc.source.Sum == rc.target.Sum
	return &r
}
