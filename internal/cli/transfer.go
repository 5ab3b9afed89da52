package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	dv "junction/internal/dataverse"
	jobs "junction/internal/job"
	"junction/internal/job/format"
	"junction/internal/project"
)

// orgFlags say which Web API import and export talk to: a Junction server
// (--url, --key) or a Dataverse org (--org with an app registration).
type orgFlags struct {
	url, key                                  string
	org, tenantID, clientID, secret, tokenURL string
}

func (o *orgFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "the Junction server's base URL")
	fs.StringVar(&o.key, "api-key", "", "API key (default: JUNCTION_KEY, then JUNCTION_ADMIN_KEY)")
	fs.StringVar(&o.org, "org", "", "a Dataverse org URL (https://contoso.crm.dynamics.com) instead of a Junction server")
	fs.StringVar(&o.tenantID, "tenant-id", "", "the org's Microsoft Entra tenant")
	fs.StringVar(&o.clientID, "client-id", "", "the app registration's client id")
	fs.StringVar(&o.secret, "client-secret", "", "the app registration's secret (better: JUNCTION_CLIENT_SECRET)")
	fs.StringVar(&o.tokenURL, "token-url", "", "the OAuth2 token endpoint (default: Microsoft Entra's for the tenant)")
}

// resolve checks the flags and returns the org for a job and a client.
func (o *orgFlags) resolve(env Env) (*jobs.Org, *dv.Client, error) {
	var org jobs.Org
	if o.org != "" {
		org = jobs.Org{URL: o.org, TenantID: o.tenantID, ClientID: o.clientID, ClientSecret: o.secret, TokenURL: o.tokenURL}
	} else {
		for _, name := range []string{"JUNCTION_KEY", "JUNCTION_ADMIN_KEY"} {
			if o.key == "" {
				o.key = env(name)
			}
		}
		if o.key == "" {
			return nil, nil, errors.New("an API key is required: --api-key, JUNCTION_KEY or JUNCTION_ADMIN_KEY (or --org for a Dataverse org)")
		}
		org = jobs.Org{URL: o.url, Token: o.key}
	}
	c, err := dv.New(dv.Config{URL: org.URL, TenantID: org.TenantID, ClientID: org.ClientID, ClientSecret: org.ClientSecret, TokenURL: org.TokenURL, Token: org.Token})
	if err != nil {
		return nil, nil, err
	}
	return &org, c, nil
}

// progress draws a run's progress bar on w.
func progress(w io.Writer, p float64, phase string, read, inserted, updated int64) {
	if p < 0 {
		p = 0
	}
	n := int(p * 30)
	fmt.Fprintf(w, "\r[%s%s] %3.0f%% %-10s read %d, inserted %d, updated %d", strings.Repeat("#", n), strings.Repeat(".", 30-n), p*100, phase, read, inserted, updated)
}

// runLocal runs spec in this process, drawing its progress on stderr while
// it goes on and its last state when it ends.
func runLocal(ctx context.Context, stdio IO, state string, spec jobs.Spec, file string) (jobs.Result, error) {
	drawn := false
	var last time.Time
	draw := func(r jobs.Run) {
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		drawn, last = true, time.Now()
		progress(stdio.Stderr, r.Progress, r.Phase, r.Read, r.Inserted, r.Updated)
	}
	res, err := jobs.Local{StateDir: state, Progress: draw}.Run(ctx, spec, file)
	if drawn {
		if err == nil {
			r := res.Run
			progress(stdio.Stderr, 1, r.Status, r.Read, r.Inserted, r.Updated)
		}
		fmt.Fprintln(stdio.Stderr)
	}
	return res, err
}

func printLocalRun(stdout io.Writer, r jobs.Run) {
	fmt.Fprintf(stdout, "%s: %s\n", r.Job, r.Status)
	fmt.Fprintf(stdout, "  read %d, rejected %d, inserted %d, updated %d, unchanged %d, deleted %d\n", r.Read, r.Rejected, r.Inserted, r.Updated, r.Unchanged, r.Deleted)
	if rc := r.Reconciliation; rc != nil {
		fmt.Fprintf(stdout, "  reconciliation: matched=%v source %d, target %d, missing %d, different %d\n", rc.Matched, rc.SourceRows, rc.TargetRows, rc.MissingCount, rc.DifferentCount)
	}
	if r.Error != "" {
		fmt.Fprintf(stdout, "  error: %s\n", r.Error)
	}
}

// readFormat is the reader format of a file, from its extension.
func readFormat(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return "json"
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".xml":
		return "xml"
	}
	return "csv"
}

// importCmd is `junction import FILE --table T`: the file's rows upserted
// into a table of Junction or of a Dataverse org, validated, with a rejects
// file beside the input.
func importCmd(ctx context.Context, args []string, stdio IO) int {
	fs := newFlags("import", stdio)
	var o orgFlags
	o.register(fs)
	var table, keys, mapFile, delimiter, encoding, write string
	var accept bool
	var maxErrors int64
	var batchSize, writers, chunk int
	fs.StringVar(&table, "table", "", "the table to write (logical name such as contact, or entity set name such as contacts)")
	fs.StringVar(&keys, "key", "", "the column(s), comma-separated, that identify a row: the primary id or an alternate key (default: whichever the file has)")
	fs.StringVar(&mapFile, "map", "", "a YAML or JSON file with the job mapping (a list, or {mapping: [...], key: [...]}) instead of matching column names")
	fs.StringVar(&delimiter, "delimiter", "", "the CSV field separator (default ,)")
	fs.StringVar(&encoding, "encoding", "", "utf-8 (default), utf-16, utf-16le, utf-16be or windows-1252")
	fs.BoolVar(&accept, "accept", false, "apply the good rows and reject the bad ones (default: any bad row rejects the whole file)")
	fs.Int64Var(&maxErrors, "max-errors", 0, "with --accept: give up, applying nothing, past this many rejected rows")
	fs.StringVar(&write, "write", "upsert-multiple", "upsert-multiple or batch")
	fs.IntVar(&batchSize, "batch-size", 100, "rows a request (at most 1000)")
	fs.IntVar(&writers, "writers", 4, "requests at once (at most 52)")
	fs.IntVar(&chunk, "chunk", 1000, "rows read, written and checked together")
	// The file may come before the flags: junction import contacts.csv --table contact.
	var lead []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		lead, args = append(lead, args[0]), args[1:]
	}
	if code, ok := parse(fs, args, stdio.Env); !ok {
		return code
	}
	if !onCommandLine(args, "key") {
		keys = "" // JUNCTION_KEY is the API key, not the key columns
	}
	pos := append(lead, fs.Args()...)
	if len(pos) != 1 || table == "" {
		fmt.Fprintln(stdio.Stderr, "usage: junction import FILE --table T [--key COL] [--map FILE] [--accept]")
		return exitUsage
	}
	file, err := filepath.Abs(pos[0])
	if err != nil {
		return failf(stdio, "import: %v", err)
	}
	if st, err := os.Stat(file); err != nil || !st.Mode().IsRegular() {
		return failf(stdio, "import: %s is not a readable file", pos[0])
	}
	org, c, err := o.resolve(stdio.Env)
	if err != nil {
		return failf(stdio, "import: %v", err)
	}
	e, err := c.Entity(ctx, table)
	if err != nil {
		return failf(stdio, "import: %v", err)
	}
	read := format.Options{Format: readFormat(file), Delimiter: delimiter, Encoding: encoding}
	spec := jobs.Spec{Name: "import-" + strings.ReplaceAll(e.LogicalName, "_", "-"),
		Source: jobs.Source{Type: "file", Path: filepath.Dir(file), Pattern: "*", Read: read, Leave: true},
		Sink:   jobs.Sink{Type: "dataverse", Org: org, Table: e.LogicalName, Write: write, BatchSize: batchSize, Writers: writers},
		Chunk:  chunk}
	if accept {
		spec.Policy = jobs.Policy{OnError: "accept", MaxErrors: maxErrors}
	}
	if mapFile != "" {
		if spec.Mapping, spec.Key, err = readMap(mapFile); err != nil {
			return failf(stdio, "import: %v", err)
		}
	} else {
		var skipped []string
		if spec.Mapping, skipped, err = mapByName(file, read, e); err != nil {
			return failf(stdio, "import: %v", err)
		}
		for _, s := range skipped {
			fmt.Fprintf(stdio.Stderr, "import: the file's column %s is not a column of %s: left out (give --map to map it)\n", s, e.LogicalName)
		}
	}
	if keys != "" {
		spec.Key = strings.Split(keys, ",")
	}
	if len(spec.Key) == 0 {
		if spec.Key = defaultKey(e, spec.Mapping); spec.Key == nil {
			return failf(stdio, "import: the file has neither %s's primary id %s nor all the columns of an alternate key: give --key", e.LogicalName, e.PrimaryIDAttribute)
		}
	}
	state, err := os.MkdirTemp("", "junction-import-")
	if err != nil {
		return failf(stdio, "import: %v", err)
	}
	defer os.RemoveAll(state)
	res, err := runLocal(ctx, stdio, state, spec, file)
	if err != nil {
		return failf(stdio, "import: %v", err)
	}
	printLocalRun(stdio.Stdout, res.Run)
	if len(res.Rejects) > 0 {
		out := file + ".rejects.csv"
		if err := os.WriteFile(out, res.Rejects, 0o644); err != nil {
			return failf(stdio, "import: write the rejects: %v", err)
		}
		fmt.Fprintf(stdio.Stdout, "  rejects: %s\n", out)
	}
	if res.Run.Status != jobs.StatusSucceeded {
		return exitFailure
	}
	return exitOK
}

// onCommandLine says whether flag name is among args (not only in the
// environment).
func onCommandLine(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// readMap reads a mapping file: a list of mappings, or an object with
// mapping and key.
func readMap(path string) ([]jobs.Mapping, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	// A list of mappings, or a mapping with mapping: and key:.
	var top yaml.Node
	if yaml.Unmarshal(b, &top) == nil && len(top.Content) > 0 && top.Content[0].Kind == yaml.SequenceNode {
		var list []jobs.Mapping
		if prs := project.DecodeYAML(path, b, &list); prs != nil {
			return nil, nil, prs
		}
		return list, nil, nil
	}
	var obj struct {
		Mapping []jobs.Mapping `yaml:"mapping"`
		Key     []string       `yaml:"key"`
	}
	if prs := project.DecodeYAML(path, b, &obj); prs != nil {
		return nil, nil, prs
	}
	if len(obj.Mapping) == 0 {
		return nil, nil, fmt.Errorf("%s holds no mapping", path)
	}
	return obj.Mapping, obj.Key, nil
}

// mapByName maps the fields of the file's first good record to the table's
// columns of the same name (case aside), typed as the table types them.
func mapByName(file string, o format.Options, e *dv.Entity) ([]jobs.Mapping, []string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := format.NewReader(f, o)
	if err != nil {
		return nil, nil, err
	}
	var fields []string
	for i := 0; i < 100 && fields == nil; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			return nil, nil, errors.New("the file has no rows")
		}
		var fe *format.Error
		if errors.As(err, &fe) && !fe.Fatal {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for k := range rec.Fields {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	var maps []jobs.Mapping
	var skipped []string
	for _, name := range fields {
		a, ok := e.Attribute(name)
		if !ok {
			skipped = append(skipped, name)
			continue
		}
		maps = append(maps, jobs.Mapping{To: a.LogicalName, From: name, Type: jobs.ColumnType(a.Type)})
	}
	if len(maps) == 0 {
		return nil, nil, fmt.Errorf("no column of the file (%s) is a column of %s: give --map", strings.Join(fields, ", "), e.LogicalName)
	}
	return maps, skipped, nil
}

// defaultKey is the primary id when mapped, else the first alternate key
// whose columns are all mapped.
func defaultKey(e *dv.Entity, maps []jobs.Mapping) []string {
	mapped := map[string]bool{}
	for _, m := range maps {
		mapped[strings.ToLower(m.To)] = true
	}
	if mapped[strings.ToLower(e.PrimaryIDAttribute)] {
		return []string{e.PrimaryIDAttribute}
	}
	for _, k := range e.Keys {
		all := true
		for _, c := range k {
			all = all && mapped[strings.ToLower(c)]
		}
		if all {
			return k
		}
	}
	return nil
}

// exportCmd is `junction export --table T --to DIR|sftp://...`: a table of
// Junction or of a Dataverse org written as files in a Synapse Link–like
// layout, in full or (--delta) only what changed since the last export to
// the same place.
func exportCmd(ctx context.Context, args []string, stdio IO) int {
	fs := newFlags("export", stdio)
	var o orgFlags
	o.register(fs)
	var table, to, form, sel, hostKey, sftpPassword, sftpKey string
	var delta bool
	fs.StringVar(&table, "table", "", "the table to read (logical name such as account, or entity set name such as accounts)")
	fs.StringVar(&to, "to", "", "a folder, or sftp://user@host:port/path")
	fs.BoolVar(&delta, "delta", false, "only what changed since the last export to the same place, deletions as rows flagged deleted (the first export is full)")
	fs.StringVar(&form, "format", "csv", "csv, jsonl or parquet")
	fs.StringVar(&sel, "select", "", "the columns to export, comma-separated (default: all)")
	fs.StringVar(&hostKey, "host-key", "", "sftp: the server's host key (a known_hosts line or an authorized_keys-style key)")
	fs.StringVar(&sftpPassword, "sftp-password", "", "sftp: the password (better: JUNCTION_SFTP_PASSWORD)")
	fs.StringVar(&sftpKey, "sftp-key", "", "sftp: a private key file instead of a password")
	if code, ok := parse(fs, args, stdio.Env); !ok {
		return code
	}
	if table == "" || to == "" || len(fs.Args()) > 0 {
		fmt.Fprintln(stdio.Stderr, "usage: junction export --table T [--delta] --to DIR|sftp://user@host:port/path")
		return exitUsage
	}
	org, c, err := o.resolve(stdio.Env)
	if err != nil {
		return failf(stdio, "export: %v", err)
	}
	e, err := c.Entity(ctx, table)
	if err != nil {
		return failf(stdio, "export: %v", err)
	}
	spec := jobs.Spec{Name: "export-" + strings.ReplaceAll(e.LogicalName, "_", "-"),
		Source: jobs.Source{Type: "dataverse", Org: org, Table: e.LogicalName, Delta: delta},
		Key:    []string{e.PrimaryIDAttribute},
		Sink:   jobs.Sink{Type: "file", Format: form, Layout: "synapse", Name: e.LogicalName}}
	if sel != "" {
		spec.Source.Select = strings.Split(sel, ",")
		if !containsFold(spec.Source.Select, e.PrimaryIDAttribute) {
			spec.Source.Select = append([]string{e.PrimaryIDAttribute}, spec.Source.Select...)
		}
	}
	if delta {
		spec.Sink.Deletes = "flag"
	}
	var state, where string
	if u, err := url.Parse(to); err == nil && u.Scheme == "sftp" {
		if u.User == nil || u.Host == "" || hostKey == "" {
			return failf(stdio, "export: --to sftp://user@host:port/path needs a user, a host and --host-key")
		}
		target := &jobs.SFTPTarget{Address: u.Host, User: u.User.Username(), Password: sftpPassword, HostKey: hostKey, Path: u.Path}
		if p, ok := u.User.Password(); ok && target.Password == "" {
			target.Password = p
		}
		if sftpKey != "" {
			b, err := os.ReadFile(sftpKey)
			if err != nil {
				return failf(stdio, "export: %v", err)
			}
			target.PrivateKey = string(b)
		}
		if target.Password == "" && target.PrivateKey == "" {
			return failf(stdio, "export: sftp needs --sftp-password (or JUNCTION_SFTP_PASSWORD) or --sftp-key")
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		sum := sha256.Sum256([]byte(to + "\x00" + org.URL + "\x00" + e.LogicalName))
		state = filepath.Join(cache, "junction", "exports", hex.EncodeToString(sum[:8]))
		spec.Sink.Path = filepath.Join(state, "out")
		spec.Sink.SFTP = target
		where = to
	} else {
		dir, err := filepath.Abs(to)
		if err != nil {
			return failf(stdio, "export: %v", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return failf(stdio, "export: %v", err)
		}
		state = filepath.Join(dir, ".junction", e.LogicalName)
		spec.Sink.Path = dir
		where = dir
	}
	res, err := runLocal(ctx, stdio, state, spec, "")
	if err != nil {
		return failf(stdio, "export: %v", err)
	}
	printLocalRun(stdio.Stdout, res.Run)
	if res.Run.Status != jobs.StatusSucceeded {
		return exitFailure
	}
	fmt.Fprintf(stdio.Stdout, "  written to %s (a folder per export, each with model.json and a folder per table)\n", where)
	return exitOK
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
