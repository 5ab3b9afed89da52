package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type jobRunJSON struct {
	ID        int64      `json:"id"`
	Job       string     `json:"job"`
	Trigger   string     `json:"trigger"`
	File      string     `json:"file"`
	Status    string     `json:"status"`
	Phase     string     `json:"phase"`
	Created   time.Time  `json:"created"`
	Ended     *time.Time `json:"ended"`
	Read      int64      `json:"read"`
	Rejected  int64      `json:"rejected"`
	Inserted  int64      `json:"inserted"`
	Updated   int64      `json:"updated"`
	Unchanged int64      `json:"unchanged"`
	Deleted   int64      `json:"deleted"`
	Progress  float64    `json:"progress"`
	Error     string     `json:"error"`
	Recon     *struct {
		Matched        bool  `json:"matched"`
		SourceRows     int64 `json:"sourceRows"`
		TargetRows     int64 `json:"targetRows"`
		MissingCount   int64 `json:"missingCount"`
		DifferentCount int64 `json:"differentCount"`
	} `json:"reconciliation"`
}

// job is `junction job list|run|status`: jobs on a running server.
func job(ctx context.Context, args []string, io IO) int {
	if len(args) == 0 {
		fmt.Fprintln(io.Stderr, "usage: junction job list|run|status [flags]")
		return exitUsage
	}
	sub, args := args[0], args[1:]
	fs, c := clientFlags("job "+sub, io)
	var file string
	var wait bool
	if sub == "run" {
		fs.StringVar(&file, "file", "", "for file jobs: a file in the job's folder (default: every complete file waiting)")
		fs.BoolVar(&wait, "wait", false, "wait for the run to end, showing its progress")
	}
	// Names may come before the flags: junction job run NAME --wait.
	var lead []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		lead, args = append(lead, args[0]), args[1:]
	}
	if code, ok := fs.parse(args, io.Env, c); !ok {
		return code
	}
	pos := append(lead, fs.Args()...)
	switch sub {
	case "list":
		var out struct {
			Value []struct {
				Name    string `json:"name"`
				Origin  string `json:"origin"`
				Trigger struct {
					Schedule string `json:"schedule"`
					Files    bool   `json:"files"`
				} `json:"trigger"`
				Source struct{ Type string } `json:"source"`
				Sink   struct{ Type string } `json:"sink"`
			}
		}
		if err := c.do(ctx, "GET", "/admin/v1/jobs", nil, &out); err != nil {
			return failf(io, "job list: %v", err)
		}
		tw := tabwriter.NewWriter(io.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSOURCE\tSINK\tTRIGGER\tORIGIN")
		for _, j := range out.Value {
			trig := "manual"
			if j.Trigger.Schedule != "" {
				trig = j.Trigger.Schedule
			}
			if j.Trigger.Files {
				trig = "files"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", j.Name, j.Source.Type, j.Sink.Type, trig, j.Origin)
		}
		tw.Flush()
	case "run":
		if len(pos) != 1 {
			fmt.Fprintln(io.Stderr, "usage: junction job run NAME [--file F] [--wait]")
			return exitUsage
		}
		name := pos[0]
		body := map[string]string{"trigger": "cli"}
		if file != "" {
			body["file"] = file
		}
		var out struct{ Value []jobRunJSON }
		if err := c.do(ctx, "POST", "/admin/v1/jobs/"+name+"/runs", body, &out); err != nil {
			return failf(io, "job run: %v", err)
		}
		if len(out.Value) == 0 {
			fmt.Fprintln(io.Stdout, "No run started: no complete new file is waiting.")
			return exitOK
		}
		code := exitOK
		for _, r := range out.Value {
			fmt.Fprintf(io.Stdout, "Started run %d of %s%s\n", r.ID, name, fileNote(r.File))
			if !wait {
				continue
			}
			final, err := waitRun(ctx, c, io, name, r.ID)
			if err != nil {
				return failf(io, "job run: %v", err)
			}
			printRun(io, final)
			if final.Status != "succeeded" {
				code = exitFailure
			}
		}
		return code
	case "status":
		if len(pos) < 1 || len(pos) > 2 {
			fmt.Fprintln(io.Stderr, "usage: junction job status NAME [RUN]")
			return exitUsage
		}
		name := pos[0]
		if len(pos) == 2 {
			var r jobRunJSON
			if err := c.do(ctx, "GET", "/admin/v1/jobs/"+name+"/runs/"+pos[1], nil, &r); err != nil {
				return failf(io, "job status: %v", err)
			}
			printRun(io, r)
			return exitOK
		}
		var out struct{ Value []jobRunJSON }
		if err := c.do(ctx, "GET", "/admin/v1/jobs/"+name+"/runs?top=20", nil, &out); err != nil {
			return failf(io, "job status: %v", err)
		}
		tw := tabwriter.NewWriter(io.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tTRIGGER\tSTATUS\tREAD\tREJECTED\tINSERTED\tUPDATED\tUNCHANGED\tCREATED")
		for _, r := range out.Value {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Trigger, r.Status, r.Read, r.Rejected, r.Inserted, r.Updated, r.Unchanged, r.Created.Format(time.RFC3339))
		}
		tw.Flush()
	default:
		fmt.Fprintf(io.Stderr, "junction job: unknown subcommand %q\n", sub)
		return exitUsage
	}
	return exitOK
}

func fileNote(f string) string {
	if f == "" {
		return ""
	}
	return " for " + f
}

// waitRun polls a run until it ends, drawing a progress bar on stderr.
func waitRun(ctx context.Context, c *client, io IO, name string, id int64) (jobRunJSON, error) {
	drawn := false
	for {
		var r jobRunJSON
		if err := c.do(ctx, "GET", "/admin/v1/jobs/"+name+"/runs/"+strconv.FormatInt(id, 10), nil, &r); err != nil {
			if drawn {
				fmt.Fprintln(io.Stderr)
			}
			return r, err
		}
		if r.Status != "queued" && r.Status != "running" {
			// The bar ends where the run did: full when it succeeded, where
			// it stopped otherwise, with the run's status in place of a phase.
			if drawn || r.Status == "succeeded" {
				p := r.Progress
				if r.Status == "succeeded" {
					p = 1
				}
				progress(io.Stderr, p, r.Status, r.Read, r.Inserted, r.Updated)
				fmt.Fprintln(io.Stderr)
			}
			return r, nil
		}
		drawn = true
		progress(io.Stderr, r.Progress, r.Phase, r.Read, r.Inserted, r.Updated)
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func printRun(io IO, r jobRunJSON) {
	fmt.Fprintf(io.Stdout, "Run %d of %s: %s\n", r.ID, r.Job, r.Status)
	fmt.Fprintf(io.Stdout, "  read %d, rejected %d, inserted %d, updated %d, unchanged %d, deleted %d\n", r.Read, r.Rejected, r.Inserted, r.Updated, r.Unchanged, r.Deleted)
	if r.Recon != nil {
		fmt.Fprintf(io.Stdout, "  reconciliation: matched=%v source %d, target %d, missing %d, different %d\n", r.Recon.Matched, r.Recon.SourceRows, r.Recon.TargetRows, r.Recon.MissingCount, r.Recon.DifferentCount)
	}
	if r.Error != "" {
		fmt.Fprintf(io.Stdout, "  error: %s\n", r.Error)
	}
	if r.Rejected > 0 {
		fmt.Fprintf(io.Stdout, "  rejects: GET /admin/v1/jobs/%s/runs/%d/rejects\n", r.Job, r.ID)
	}
}
