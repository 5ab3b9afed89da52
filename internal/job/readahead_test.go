package job

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"junction/internal/job/format"
	filesource "junction/internal/job/source/file"
)

// aheadCSV is a CSV of n rows where some rows have a field too many (the
// source cannot read them), some a quantity that is not a whole number (the
// mapping rejects them), and the last a quoted field never closed.
func aheadCSV(n int) string {
	var sb strings.Builder
	sb.WriteString("productnumber,name,qty\n")
	for i := 1; i <= n; i++ {
		switch {
		case i%97 == 0:
			fmt.Fprintf(&sb, "p%d,one,two,3\n", i)
		case i%13 == 0:
			fmt.Fprintf(&sb, "p%d,name %d,many\n", i, i)
		default:
			fmt.Fprintf(&sb, "p%d,name %d,%d\n", i, i, i)
		}
	}
	sb.WriteString("p0,\"never closed,1\n")
	return sb.String()
}

func aheadFile(t *testing.T, n int) string {
	return writeFile(t, filepath.Join(t.TempDir(), "a.csv"), aheadCSV(n))
}

var aheadMapping = []Mapping{{To: "productnumber", Required: true}, {To: "name"}, {To: "qty", Type: format.TypeInt}}

// TestReadAheadGivesWhatReadingGives: items read ahead by a goroutine are
// the items read one by one, in order, with the same rows, rejects, errors
// and progress.
func TestReadAheadGivesWhatReadingGives(t *testing.T) {
	t.Parallel()
	path := aheadFile(t, 3*aheadBatch*aheadBatches/2)
	all := func(ahead bool) []item {
		r, err := filesource.Open(path, format.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		m, err := newMapper(&Spec{Mapping: aheadMapping, Key: []string{"productnumber"}}, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		items := readItems(context.Background(), r, m, ahead)
		defer items.stop()
		var out []item
		for {
			x, err := items.next()
			if err != nil {
				t.Fatal(err)
			}
			if x.progress != items.progress {
				t.Fatalf("progress %v, item's %v", items.progress, x.progress)
			}
			out = append(out, x)
			if x.last() {
				return out
			}
		}
	}
	want, got := all(false), all(true)
	if len(got) != len(want) {
		t.Fatalf("%d items read ahead, %d read one by one", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("item %d: read ahead %+v, read one by one %+v", i, got[i], want[i])
		}
	}
	if n := len(want); want[n-1].err == nil || want[n-2].err == nil || !strings.Contains(want[n-2].err.Error(), "never closed") && !strings.Contains(want[n-2].err.Error(), "not closed") {
		t.Fatalf("the file's end: %v, %v", want[n-2].err, want[n-1].err)
	}
}

// TestReadAheadStops: a pass that ends early stops the reading ahead.
func TestReadAheadStops(t *testing.T) {
	t.Parallel()
	r, err := filesource.Open(aheadFile(t, 10*aheadBatch*aheadBatches), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, _ := newMapper(&Spec{Mapping: aheadMapping}, nil, nil, nil)
	items := readItems(context.Background(), r, m, true)
	for i := 0; i < aheadBatch+1; i++ {
		if _, err := items.next(); err != nil {
			t.Fatal(err)
		}
	}
	items.stop() // returns once the goroutine has ended
}

// TestImportReadAhead: an import of many chunks, read ahead, applies every
// good row, rejects the others with their lines, and reconciles.
func TestImportReadAhead(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			b, s, _ := warehouseJob(t, driver)
			b.define(t, Spec{Name: "ahead", Source: Source{Type: "file", Path: "drop/ahead"}, Mapping: aheadMapping, Key: []string{"productnumber"},
				Policy: Policy{OnError: "accept"}, Sink: Sink{Type: "sql", Driver: driver, DSN: "${W}", Table: "prices"}, Chunk: 300})
			const n = 3000
			var good, bad int64
			for i := 1; i <= n; i++ {
				if i%97 == 0 || i%13 == 0 {
					bad++
				} else {
					good++
				}
			}
			bad++ // the last row, never closed
			run := b.runNow(t, "ahead", writeFile(t, filepath.Join(b.data, "files", "drop", "ahead", "a.csv"), aheadCSV(n)))
			rc := run.Reconciliation
			if run.Status != StatusSucceeded || run.Inserted != good || run.Rejected != bad || run.Read != n+1 || rc == nil || !rc.Matched || rc.SourceRows != good {
				t.Fatalf("run %+v, reconciliation %+v", run, rc)
			}
			rejects, err := runFile(context.Background(), s, run.ID, "rejects.csv")
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(rejects)), "\n")[1:]
			if int64(len(lines)) != bad {
				t.Fatalf("%d rejects, want %d", len(lines), bad)
			}
			for i, l := range lines[:5] { // in the file's order
				want := []int{13, 26, 39, 52, 65}[i] + 1
				if !strings.HasPrefix(l, fmt.Sprint(want)+",") {
					t.Fatalf("reject %d: %q, want line %d", i, l, want)
				}
			}
		})
	}
}
