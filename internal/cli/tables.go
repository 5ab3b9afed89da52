package cli

import (
	"context"
	"fmt"
)

// tablesCmd is `junction tables`: a team's own schema brought into Junction.
func tablesCmd(ctx context.Context, args []string, cio IO) int {
	if len(args) == 0 {
		fmt.Fprintln(cio.Stderr, "usage: junction tables import FILE.zip [--url URL --key KEY | --out DIR]")
		return exitUsage
	}
	switch args[0] {
	case "import":
		return tablesImport(ctx, args[1:], cio)
	}
	fmt.Fprintf(cio.Stderr, "junction tables: unknown subcommand %q (import)\n", args[0])
	return exitUsage
}
