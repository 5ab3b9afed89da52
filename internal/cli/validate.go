package cli

import (
	"fmt"
	"os"

	"junction/internal/app"
	"junction/internal/project"
)

func validate(args []string, io IO) int {
	fs := newFlags("validate", io)
	file := fs.String("secrets-file", "", "the secrets file the server will read (app settings of workflows)")
	allow := fs.String("secrets-allow", "", "comma-separated environment variables, besides JUNCTION_SECRET_*, that definitions may read")
	if code, ok := parse(fs, args, io.Env); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(io.Stderr, "usage: junction validate DIR")
		return exitUsage
	}
	dir := fs.Arg(0)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(io.Stderr, "junction validate: %s is not a folder\n", dir)
		return exitUsage
	}
	p, problems := project.Open(os.DirFS(dir), dir)
	if p != nil {
		res, err := app.NewSecrets(*file, splitList(*allow))
		if err != nil {
			fmt.Fprintf(io.Stderr, "junction validate: %v\n", err)
			return exitUsage
		}
		problems = p.Validate(app.ValidatorsWith(res)...) // includes the manifest's problems
	}
	if len(problems) > 0 {
		for _, pr := range problems {
			pr.File = dir + "/" + pr.File
			fmt.Fprintln(io.Stderr, pr.String())
		}
		fmt.Fprintf(io.Stderr, "%d problem(s) in %s\n", len(problems), dir)
		return exitUsage
	}
	fmt.Fprintf(io.Stdout, "%s: ok\n", dir)
	return exitOK
}
