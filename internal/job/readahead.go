package job

import (
	"context"
	"errors"
	"io"

	"junction/internal/job/format"
	"junction/internal/job/sink"
)

// item is one source item, read and mapped, with its row's checksum.
type item struct {
	row     Row
	rejects []Reject
	deleted bool
	// err is the source's: io.EOF at its end, a *format.Error for an item
	// it could not read. mapErr is the mapping's, not about the row: it
	// ends the run.
	err, mapErr error
	progress    float64 // the source's progress once the item was read
}

// Items are read ahead in batches, up to about a chunk of the benchmark's
// size before the pass takes them.
const (
	aheadBatch   = 256
	aheadBatches = 20
)

// itemReader gives a pass the source's items in order. Ahead, a goroutine
// of its own reads and maps them while the pass writes the chunk before
// them, so that parsing and converting rows overlaps the sink's statements
// and commits; it is used only where mapping a row asks the sink nothing
// (no lookups), since the sink is busy with the pass meanwhile.
type itemReader struct {
	ctx context.Context
	r   reader
	m   *mapper
	// progress is the source's progress as of the item given last.
	progress float64

	batches chan []item // nil: items are read as they are asked for
	free    chan []item
	cur     []item
	pos     int
	cancel  context.CancelFunc
	done    chan struct{}
}

func readItems(ctx context.Context, r reader, m *mapper, ahead bool) *itemReader {
	ir := &itemReader{ctx: ctx, r: r, m: m}
	if !ahead {
		return ir
	}
	actx, cancel := context.WithCancel(ctx)
	ir.cancel = cancel
	ir.batches = make(chan []item, aheadBatches)
	ir.free = make(chan []item, aheadBatches+2)
	ir.done = make(chan struct{})
	go ir.readAhead(actx)
	return ir
}

func (ir *itemReader) read(ctx context.Context) item {
	rec, deleted, err := ir.r.Next(ctx)
	x := item{deleted: deleted, err: err}
	if err == nil {
		x.row, x.rejects, x.mapErr = ir.m.row(ctx, rec, deleted)
		if x.mapErr == nil && len(x.rejects) == 0 && !deleted {
			x.row.Sum = sink.Hash(ir.m.cols, x.row.Values)
		}
	}
	x.progress = ir.r.Progress()
	return x
}

// last says no item follows x: the source ended or failed, or the mapping
// did. A row the source could not read is followed by the next.
func (x item) last() bool {
	var fe *format.Error
	return x.mapErr != nil || x.err != nil && !(errors.As(x.err, &fe) && !fe.Fatal)
}

func (ir *itemReader) readAhead(ctx context.Context) {
	defer close(ir.done)
	defer close(ir.batches)
	for {
		var b []item
		select {
		case b = <-ir.free:
			b = b[:0]
		default:
			b = make([]item, 0, aheadBatch)
		}
		stop := false
		for len(b) < aheadBatch && !stop {
			x := ir.read(ctx)
			b = append(b, x)
			stop = x.last()
		}
		select {
		case ir.batches <- b:
		case <-ctx.Done():
			return
		}
		if stop {
			return
		}
	}
}

// next returns the next item. An error ends the pass: the run was stopped.
func (ir *itemReader) next() (item, error) {
	if ir.batches == nil {
		x := ir.read(ir.ctx)
		ir.progress = x.progress
		return x, nil
	}
	for ir.pos >= len(ir.cur) {
		if ir.cur != nil {
			clear(ir.cur) // the batch keeps no rows alive while it waits
			select {
			case ir.free <- ir.cur:
			default:
			}
		}
		b, ok := <-ir.batches
		if !ok {
			if err := ir.ctx.Err(); err != nil {
				return item{}, err
			}
			return item{}, io.ErrUnexpectedEOF
		}
		ir.cur, ir.pos = b, 0
	}
	x := ir.cur[ir.pos]
	ir.pos++
	ir.progress = x.progress
	return x, nil
}

// stop ends the reading ahead and waits for it, before the source closes.
func (ir *itemReader) stop() {
	if ir.batches == nil {
		return
	}
	ir.cancel()
	for range ir.batches {
	}
	<-ir.done
}

// looksUp says mapping a row may ask the sink (a lookup).
func (m *mapper) looksUp() bool {
	for _, mp := range m.maps {
		if mp.Lookup != nil {
			return true
		}
	}
	return false
}
