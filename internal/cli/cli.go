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

	"junction/internal/suggest"
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
	case "wait":
		return wait(ctx, rest, io)
	case "storage":
		return storage(ctx, rest, io)
	case "cert":
		return cert(rest, io)
	case "tables":
		return tablesCmd(ctx, rest, io)
	case "help", "-h", "--help":
		usage(io.Stdout)
		return exitOK
	}
	fmt.Fprintf(io.Stderr, "junction: unknown command %q\n", cmd)
	if s := suggest.Closest(cmd, commands); s != "" {
		fmt.Fprintf(io.Stderr, "Did you mean: junction %s\n", s)
	}
	fmt.Fprintln(io.Stderr)
	usage(io.Stderr)
	return exitUsage
}

// commands are the command names, for suggestions.
var commands = []string{"serve", "version", "validate", "keys", "queue", "import", "export", "job", "events", "test", "wait", "storage", "tables", "help"}

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
  junction tables import FILE.zip  create a Dataverse solution's tables on a running server (or --out DIR as project files)
  junction tables pull --org URL --tables a,b  write an org's table definitions as project tables/*.yaml
  junction storage                what takes the space on a running server, with the retention in force
  junction wait [--url URL]       wait until a server is ready (for scripts)
  junction cert dev               make a local CA and a certificate for localhost to serve TLS
  junction version                print the version

Every flag can also be set as JUNCTION_<NAME> in the environment (flags win).
`)
}

// newFlags makes a flag set that reports errors instead of exiting and
// prints its flags as the docs write them (--name).
func newFlags(name string, io IO) *flag.FlagSet {
	fs := flag.NewFlagSet("junction "+name, flag.ContinueOnError)
	fs.SetOutput(io.Stderr)
	fs.Usage = func() { printFlags(fs) }
	return fs
}

// printFlags prints a flag set's usage with double-dash flags.
func printFlags(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage of %s:\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		kind, text := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + strings.ToUpper(kind)
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(text, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, " [env %s]\n", EnvName(f.Name))
	})
}

// unknownFlag finds the first flag in args that fs does not define, and the
// defined flag it most likely meant.
func unknownFlag(fs *flag.FlagSet, args []string) (name, meant string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return "", ""
		}
		n := strings.TrimLeft(a, "-")
		n, _, hasValue := strings.Cut(n, "=")
		f := fs.Lookup(n)
		if f == nil {
			if n == "h" || n == "help" {
				return "", ""
			}
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
			return n, suggest.Closest(n, names)
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
			i++ // the next argument is this flag's value
		}
	}
	return "", ""
}

// parse parses args, then fills every flag not given on the command line from
// JUNCTION_<NAME> in the environment. It returns the exit code to use on failure.
func parse(fs *flag.FlagSet, args []string, env Env) (int, bool) {
	if name, meant := unknownFlag(fs, args); name != "" {
		fmt.Fprintf(fs.Output(), "%s: unknown flag --%s\n", fs.Name(), name)
		if meant != "" {
			fmt.Fprintf(fs.Output(), "Did you mean --%s?\n", meant)
		}
		fmt.Fprintf(fs.Output(), "Run %s --help for its flags.\n", fs.Name())
		return exitUsage, false
	}
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
