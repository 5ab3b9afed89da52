package cli

import (
	"context"
	"fmt"
	"os"

	"junction/internal/project"
	"junction/internal/secrets"
	"junction/internal/workflow"
)

// testWorkflows is `junction test DIR`: offline workflow tests.
func testWorkflows(ctx context.Context, args []string, io IO) int {
	fs := newFlags("test", io)
	file := fs.String("secrets-file", "", "a secrets file (KEY=VALUE lines or a JSON object) for @appsetting()")
	allow := fs.String("secrets-allow", "", "comma-separated environment variables, besides JUNCTION_SECRET_*, that @appsetting() may read")
	if code, ok := parse(fs, args, io.Env); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(io.Stderr, "usage: junction test DIR   (runs DIR/<workflow>/tests/*.test.json)")
		return exitUsage
	}
	dir := fs.Arg(0)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(io.Stderr, "junction test: %s is not a folder\n", dir)
		return exitUsage
	}
	p, problems := project.Open(os.DirFS(dir), dir)
	if len(problems) > 0 {
		fmt.Fprintln(io.Stderr, problems.Error())
		return exitUsage
	}
	res, err := secrets.New(secrets.Options{File: *file, Allow: splitList(*allow), Env: func(name string) (string, bool) {
		v := io.Env(name)
		return v, v != ""
	}})
	if err != nil {
		fmt.Fprintf(io.Stderr, "junction test: %v\n", err)
		return exitUsage
	}
	results, err := workflow.RunTests(ctx, p, res.Lookup)
	if err != nil {
		fmt.Fprintf(io.Stderr, "junction test: %v\n", err)
		return exitUsage
	}
	if !workflow.PrintTestResults(io.Stdout, results) {
		return exitFailure
	}
	return exitOK
}
