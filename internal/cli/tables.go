package cli

import (
	"context"
	"fmt"
)

// tables is `junction tables ...`: a team's own Dataverse schema as project
// table files.
func tables(ctx context.Context, args []string, stdio IO) int {
	if len(args) > 0 {
		switch args[0] {
		case "pull":
			return tablesPull(ctx, args[1:], stdio)
		}
	}
	fmt.Fprint(stdio.Stderr, `usage:
  junction tables pull --org URL --tables a,b,c [--out DIR]   write an org's table definitions as tables/*.yaml
`)
	return exitUsage
}
