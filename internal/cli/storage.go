package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"junction/internal/retention"
)

// storage prints what takes the space on a running server, with the
// retention in force (GET /admin/v1/storage).
func storage(ctx context.Context, args []string, cio IO) int {
	fs, c := clientFlags("storage", cio)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, ok := fs.parse(args, cio.Env, c); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(cio.Stderr, "junction storage: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	var r retention.Report
	if err := c.do(ctx, "GET", "/admin/v1/storage?fresh=true", nil, &r); err != nil {
		return failf(cio, "storage: %v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(cio.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
		return exitOK
	}
	printStorage(cio.Stdout, &r)
	return exitOK
}

func printStorage(w io.Writer, r *retention.Report) {
	fmt.Fprintf(w, "%s: %s of tables and indexes", r.Store, bytesText(r.Bytes))
	if f := r.File; f != nil {
		fmt.Fprintf(w, "; %s: %s, write-ahead log %s, %s free to give back (auto-vacuum %s)", f.Path, bytesText(f.Bytes), bytesText(f.WALBytes), bytesText(f.FreeBytes), f.AutoVacuum)
	}
	fmt.Fprintln(w)
	if d := r.Disk; d != nil {
		fmt.Fprintf(w, "disk of %s: %s free of %s\n", d.Path, bytesText(d.FreeBytes), bytesText(d.TotalBytes))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tROWS\tSIZE\tRETENTION\t")
	for _, c := range r.Components {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t\n", c.Name, c.Rows, bytesText(c.Bytes), keptText(c.Retention))
	}
	tw.Flush()
	if len(r.Tables) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tROWS\tSIZE\t")
		for _, t := range r.Tables {
			fmt.Fprintf(tw, "%s\t%d\t%s\t\n", t.Name, t.Rows, bytesText(t.Bytes))
		}
		tw.Flush()
	}
	if len(r.Broker) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENTITY\tACTIVE\tSCHEDULED\tDEAD LETTERS\tSIZE\t")
		for _, e := range r.Broker {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", e.Path, e.Active, e.Scheduled, e.DeadLetter, bytesText(e.Bytes))
		}
		tw.Flush()
	}
	if len(r.Consumers) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CHANGE LOG READER\tPOSITION\tBEHIND\tSTATE\t")
		for _, c := range r.Consumers {
			state := "ok"
			if c.Lost {
				state = "LOST: resyncs"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t\n", c.Name, c.Position, c.Behind, state)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	var settings []string
	for k, v := range r.Retention {
		settings = append(settings, k+"="+v)
	}
	slices.Sort(settings)
	fmt.Fprintf(w, "retention: %s\n", strings.Join(settings, " "))
	if p := r.LastPass; p != nil {
		var deleted []string
		for k, n := range p.Deleted {
			if n > 0 {
				deleted = append(deleted, fmt.Sprintf("%d %s", n, k))
			}
		}
		slices.Sort(deleted)
		if len(deleted) == 0 {
			deleted = []string{"nothing"}
		}
		fmt.Fprintf(w, "last pass %s: deleted %s, gave back %s\n", p.Started.Format("2006-01-02 15:04:05Z07:00"), strings.Join(deleted, ", "), bytesText(p.Reclaimed))
		for _, e := range p.Errors {
			fmt.Fprintf(w, "  failed: %s\n", e)
		}
	}
}

// bytesText writes a number of bytes as people read it: 1.2 MB.
func bytesText(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprintf("%d B", n)
	case v < 10:
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
	return fmt.Sprintf("%.0f %s", v, units[i])
}

func keptText(r string) string {
	switch r {
	case "":
		return "-"
	case "forever":
		return "until purged"
	}
	return r
}
