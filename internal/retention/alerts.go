package retention

import (
	"context"
	"fmt"
	"strings"

	"junction/internal/console"
)

var _ console.Reporter = (*Worker)(nil)

// lowDisk is the share of the data folder's disk below which the overview
// warns.
const lowDisk = 0.10

// Alerts tell the console's overview about storage trouble: a change-log
// reader that lost its position, a disk running out, a retention pass that
// failed.
func (w *Worker) Alerts(ctx context.Context) []console.Alert {
	r, err := w.Report(ctx, false)
	if err != nil {
		return []console.Alert{{Surface: "Storage", Severity: "error", Title: "cannot measure the storage", Detail: err.Error(), Link: "#/storage"}}
	}
	var out []console.Alert
	for _, c := range r.Consumers {
		if c.Lost {
			out = append(out, console.Alert{Surface: "Storage", Severity: "error",
				Title:  "change-log reader " + c.Name + " lost its position",
				Detail: "retention deleted changes it had not read (it stayed behind longer than the hard maximum); it resyncs from the current state",
				Link:   "#/storage"})
		}
	}
	if d := r.Disk; d != nil && d.TotalBytes > 0 && float64(d.FreeBytes) < lowDisk*float64(d.TotalBytes) {
		out = append(out, console.Alert{Surface: "Storage", Severity: "warning",
			Title:  fmt.Sprintf("the data folder's disk is %.0f%% full", 100-100*float64(d.FreeBytes)/float64(d.TotalBytes)),
			Detail: "see what takes the space and shorten a retention", Link: "#/storage"})
	}
	if p := r.LastPass; p != nil && len(p.Errors) > 0 {
		out = append(out, console.Alert{Surface: "Storage", Severity: "warning", Title: "the last retention pass failed",
			Detail: strings.Join(p.Errors, "; "), Link: "#/storage"})
	}
	return out
}
