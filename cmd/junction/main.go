// Command junction is the Junction integration hub: the server and its CLI.
package main

import (
	"context"
	"os"

	"junction/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
