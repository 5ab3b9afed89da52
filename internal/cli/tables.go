package cli

import (
	"context"
	"fmt"
)

// tablesCmd is `junction tables`: a team's own schema brought into Junction.
func tablesCmd(ctx context.Context, args []string, cio IO) int {
	if len(args) == 0 {
		fmt.Fprintln(cio.Stderr, "usage: junction tables import FILE.zip [--url URL --key KEY | --out DIR]\n       junction tables pull --org URL --tables a,b,c [--out DIR]")
		return exitUsage
	}
	switch args[0] {
	case "import":
		return tablesImport(ctx, args[1:], cio)
	case "pull":
		return tablesPull(ctx, args[1:], cio)
	}
	fmt.Fprintf(cio.Stderr, "junction tables: unknown subcommand %q (import, pull)\n", args[0])
	return exitUsage
}
