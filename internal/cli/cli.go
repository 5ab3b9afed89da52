// Package cli is the junction command: serve, validate a project, manage API
// keys, and print the version. Main is the whole program, so tests run the CLI
// in-process exactly as a user would.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Version is set at build time with -ldflags "-X junction/internal/cli.Version=...".
var Version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// Env reads environment variables; tests pass a map.
type Env func(string) string

// IO is where a command reads and writes.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Env    Env
}

// Main runs the junction command with args (without the program name) and
// returns the exit code.
func Main(ctx context.Context, args []string, io IO) int {
	if io.Env == nil {
		io.Env = os.Getenv
	}
	if len(args) == 0 {
		usage(io.Stderr)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, io)
	case "version", "--version":
		fmt.Fprintf(io.Stdout, "junction %s\n", Version)
		return exitOK
	case "validate":
		return validate(rest, io)
	case "keys":
		return keys(ctx, rest, io)
	case "queue":
		return queue(ctx, rest, io)
	case "import":
		return importCmd(ctx, rest, io)
	case "export":
		return exportCmd(ctx, rest, io)
	case "job":
		return job(ctx, rest, io)
	case "events":
		return events(ctx, rest, io)
	case "test":
		return testWorkflows(ctx, rest, io)
	case "help", "-h", "--help":
		usage(io.Stdout)
		return exitOK
	}
	fmt.Fprintf(io.Stderr, "junction: unknown command %q\n\n", cmd)
	usage(io.Stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Junction: a self-hosted integration hub for Dynamics 365 / Dataverse.

Usage:
  junction serve [flags]          run the server (junction serve --help for flags)
  junction validate DIR           check a project folder and list every problem
  junction test DIR               run the offline workflow tests of a project folder
  junction keys list|create|delete  manage API keys on a running server
  junction queue send|receive|peek|dlq  send and receive broker messages, manage dead letters
  junction job list|run|status    batch and file jobs on a running server
  junction import FILE --table T  upsert a CSV/JSON/XML file's rows into a table, with a rejects file
  junction export --table T --to DIR|sftp://...  write a table as files, in full or (--delta) what changed
  junction events topics|publish|deadletters|replay  publish events, list topics, replay dead letters
  junction version                print the version

Every flag can also be set as JUNCTION_<NAME> in the environment (flags win).
`)
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, io IO) *flag.FlagSet {
	fs := flag.NewFlagSet("junction "+name, flag.ContinueOnError)
	fs.SetOutput(io.Stderr)
	return fs
}

// parse parses args, then fills every flag not given on the command line from
// JUNCTION_<NAME> in the environment. It returns the exit code to use on failure.
func parse(fs *flag.FlagSet, args []string, env Env) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || bad != nil {
			return
		}
		name := EnvName(f.Name)
		if v := env(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				bad = fmt.Errorf("%s: invalid value %q: %v", name, v, err)
			}
		}
	})
	if bad != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), bad)
		return exitUsage, false
	}
	return exitOK, true
}

// EnvName is the environment variable of a flag: --admin-url → JUNCTION_ADMIN_URL.
func EnvName(flagName string) string {
	return "JUNCTION_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
