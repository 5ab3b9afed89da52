// Package demo holds the bundled demo project that `junction serve --demo`
// loads: sample definitions that show each integration pattern working.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed all:project
var files embed.FS

// Project returns the demo project folder.
func Project() fs.FS {
	sub, err := fs.Sub(files, "project")
	if err != nil {
		panic(err) // the folder is embedded at build time
	}
	return sub
}
