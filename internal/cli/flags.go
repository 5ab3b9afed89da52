package cli

import (
	"flag"
	"fmt"
)

// flagSetWithClient is a flag set for commands that call a running server.
type flagSetWithClient struct{ *flag.FlagSet }

// parse parses the flags and resolves the key: --key, JUNCTION_KEY, then
// JUNCTION_ADMIN_KEY.
func (fs *flagSetWithClient) parse(args []string, env Env, c *client) (int, bool) {
	code, ok := parse(fs.FlagSet, args, env)
	if !ok {
		return code, false
	}
	if c.key == "" {
		c.key = env("JUNCTION_ADMIN_KEY")
	}
	if c.key == "" {
		fmt.Fprintf(fs.Output(), "%s: an API key is required: --key, JUNCTION_KEY or JUNCTION_ADMIN_KEY\n", fs.Name())
		return exitUsage, false
	}
	return exitOK, true
}
