package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"junction/internal/records"
	"junction/internal/solution"
)

// tablesImport is `junction tables import FILE.zip`: an exported Dataverse
// solution's tables created on a running server through ImportSolution, or
// (--out DIR) written as the project's tables/*.yaml.
func tablesImport(ctx context.Context, args []string, cio IO) int {
	fs, c := clientFlags("tables import", cio)
	out := fs.String("out", "", "write the tables as project files DIR/tables/<table>.yaml instead of importing them into a server")
	// The file may come before the flags: junction tables import solution.zip --url URL.
	var lead []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		lead, args = append(lead, args[0]), args[1:]
	}
	if onCommandLine(args, "out") || cio.Env(EnvName("out")) != "" {
		// Writing files needs no server, so no key.
		if code, ok := parse(fs.FlagSet, args, cio.Env); !ok {
			return code
		}
	} else if code, ok := fs.parse(args, cio.Env, c); !ok {
		return code
	}
	pos := append(lead, fs.Args()...)
	if len(pos) != 1 {
		fmt.Fprintln(cio.Stderr, "usage: junction tables import FILE.zip [--url URL --key KEY | --out DIR]")
		return exitUsage
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return failf(cio, "tables import: %v", err)
	}
	sol, err := solution.Read(data)
	if err != nil {
		return failf(cio, "tables import: %s: %v", pos[0], err)
	}
	if *out != "" {
		return writeProjectTables(cio, sol, *out)
	}
	c.hc.Timeout = 5 * time.Minute // a large solution takes a while
	body := map[string]any{"CustomizationFile": base64.StdEncoding.EncodeToString(data), "OverwriteUnmanagedCustomizations": true, "PublishWorkflows": false}
	var res struct {
		CreatedTables, Added, Skipped []string
		KeptColumns                   int
	}
	hdr := http.Header{"Prefer": {"return=representation"}}
	if err := c.send(ctx, "POST", "/api/data/v9.2/ImportSolution", hdr, body, &res); err != nil {
		return failf(cio, "tables import: %v", err)
	}
	fmt.Fprintf(cio.Stdout, "imported solution %s %s into %s\n", sol.UniqueName, sol.Version, c.url)
	printList(cio, "created tables", res.CreatedTables)
	printList(cio, "added", res.Added)
	fmt.Fprintf(cio.Stdout, "kept %d existing columns\n", res.KeptColumns)
	printList(cio, "notes (left out or imported with a difference)", res.Skipped)
	return exitOK
}

func printList(cio IO, what string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(cio.Stdout, "%s (%d):\n", what, len(items))
	for _, it := range items {
		fmt.Fprintf(cio.Stdout, "  %s\n", it)
	}
}

// writeProjectTables writes the solution's own tables as DIR/tables/*.yaml,
// the files `junction serve --project DIR` loads. A standard table the
// solution extends is written as the file that extends it: the columns and
// keys the built-in table lacks.
func writeProjectTables(cio IO, sol *solution.Solution, dir string) int {
	builtin := map[string]records.Table{}
	for _, b := range records.Builtin() {
		builtin[b.Name] = b
	}
	own := map[string]bool{}
	for _, t := range sol.Tables {
		if _, ok := builtin[t.Name]; !ok {
			own[t.Name] = true
		}
	}
	known := func(n string) bool { _, ok := builtin[n]; return ok || own[n] }
	tablesDir := filepath.Join(dir, "tables")
	if err := os.MkdirAll(tablesDir, 0o755); err != nil {
		return failf(cio, "tables import: %v", err)
	}
	skipped := append([]string(nil), sol.Skipped...)
	var written []string
	for _, t := range sol.Tables {
		if std, ok := builtin[t.Name]; ok {
			x, ok := extensionOf(std, t)
			if !ok {
				continue // nothing the standard table lacks
			}
			t = x
		}
		if len(t.Columns) == 0 && t.Extends == "" {
			skipped = append(skipped, t.Name+": the solution names the table without defining it")
			continue
		}
		cols, _, sk := records.KnownTargets(&t, nil, known)
		if t.Extends != "" {
			std := builtin[t.Extends]
			cols, _, sk = records.KnownTargets(&t, &std, known)
		}
		t.Columns, skipped = cols, append(skipped, sk...)
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# From the solution %s %s (publisher %s).\n", sol.UniqueName, sol.Version, sol.Publisher.UniqueName)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(t); err != nil {
			return failf(cio, "tables import: %s: %v", t.Name, err)
		}
		enc.Close()
		file := filepath.Join(tablesDir, t.Name+t.Extends+".yaml")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			return failf(cio, "tables import: %v", err)
		}
		written = append(written, file)
	}
	fmt.Fprintf(cio.Stdout, "wrote the tables of solution %s %s\n", sol.UniqueName, sol.Version)
	printList(cio, "files", written)
	printList(cio, "notes (left out or written with a difference)", skipped)
	return exitOK
}

// extensionOf is the file that extends std with what the solution's t adds:
// the columns and keys std does not have. ok is false when there are none.
func extensionOf(std, t records.Table) (records.Table, bool) {
	x := records.Table{Extends: std.Name}
	has := map[string]bool{}
	for _, c := range std.Columns {
		has[c.Name] = true
	}
	for _, c := range t.Columns {
		if !has[c.Name] && !std.IsSystemColumn(c.Name) {
			x.Columns = append(x.Columns, c)
		}
	}
	for _, k := range t.Keys {
		if !slices.ContainsFunc(std.Keys, func(s records.Key) bool { return s.Name == k.Name }) {
			x.Keys = append(x.Keys, k)
		}
	}
	return x, len(x.Columns)+len(x.Keys) > 0
}
