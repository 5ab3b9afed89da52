// Package localfiles is the local files connector: list, read, write
// (through a temporary file renamed into place), move and delete files
// inside one root folder. Paths cannot leave the root: os.Root refuses "..",
// absolute paths and symbolic links that point outside.
package localfiles

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"junction/internal/connector"
)

// Name is the connector's name in the registry.
const Name = "localfiles"

// MaxRead caps a file read into an operation's output.
const MaxRead = 64 << 20

// New returns the local files connector.
func New() *connector.Connector {
	return &connector.Connector{
		Name:        Name,
		Title:       "Local files",
		Description: "List, read, write, move and delete files in a folder on the Junction node.",
		Params: []connector.Param{
			{Name: "root", Type: "string", Required: true, Description: "the folder every path is relative to; nothing outside it can be reached"},
		},
		Operations: connector.FileOperations(func(id string) connector.InvokeFunc {
			return op(id, map[string]func(*os.Root, connector.Values) (any, error){
				"listFiles": list, "readFile": read, "writeFile": write, "moveFile": move, "deleteFile": remove,
			}[id])
		}),
	}
}

type badInput struct{ error }

func op(name string, fn func(r *os.Root, in connector.Values) (any, error)) func(context.Context, connector.Connection, map[string]any) (any, error) {
	return func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
		rootDir, err := connector.Values(conn.Values).Required("root")
		if err != nil {
			return nil, connector.BadInput(Name, name, err)
		}
		r, err := os.OpenRoot(rootDir)
		if err != nil {
			return nil, &connector.Error{Connector: Name, Operation: name, Err: fmt.Errorf("open the root folder: %w", err)}
		}
		defer r.Close()
		out, err := fn(r, connector.Values(inputs))
		if err != nil {
			var bad badInput
			switch {
			case errors.As(err, &bad):
				return nil, connector.BadInput(Name, name, bad.error)
			case errors.Is(err, fs.ErrNotExist):
				return nil, &connector.Error{Connector: Name, Operation: name, Status: 404, Err: err}
			case errors.Is(err, fs.ErrExist):
				return nil, &connector.Error{Connector: Name, Operation: name, Status: 409, Err: err}
			}
			return nil, &connector.Error{Connector: Name, Operation: name, Err: err}
		}
		return out, nil
	}
}

func clean(in connector.Values, field string) (string, error) {
	p, err := in.Required(field)
	if err != nil {
		return "", badInput{err}
	}
	p = path.Clean(strings.ReplaceAll(p, `\`, "/"))
	if p == "." || strings.HasPrefix(p, "../") || p == ".." || strings.HasPrefix(p, "/") {
		return "", badInput{fmt.Errorf("%s %q must be a path inside the root folder", field, p)}
	}
	return p, nil
}

func list(r *os.Root, in connector.Values) (any, error) {
	folder, _ := in.String("folder", ".")
	folder = path.Clean(folder)
	if strings.HasPrefix(folder, "..") || strings.HasPrefix(folder, "/") {
		return nil, badInput{fmt.Errorf("folder %q must be inside the root folder", folder)}
	}
	pattern, _ := in.String("pattern", "")
	if pattern != "" {
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, badInput{fmt.Errorf("pattern %q: %w", pattern, err)}
		}
	}
	entries, err := fs.ReadDir(r.FS(), folder)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, e := range entries {
		if pattern != "" {
			if ok, _ := path.Match(pattern, e.Name()); !ok {
				continue
			}
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, map[string]any{"name": e.Name(), "path": path.Join(folder, e.Name()), "size": info.Size(),
			"modified": info.ModTime().UTC().Format(time.RFC3339Nano), "isFolder": e.IsDir()})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].(map[string]any)["name"].(string) < out[j].(map[string]any)["name"].(string)
	})
	return map[string]any{"files": out}, nil
}

func read(r *os.Root, in connector.Values) (any, error) {
	p, err := clean(in, "path")
	if err != nil {
		return nil, err
	}
	st, err := r.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxRead {
		return nil, badInput{fmt.Errorf("%s is larger than %d bytes", p, MaxRead)}
	}
	data, err := r.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return in.ContentOutput(data), nil
}

func write(r *os.Root, in connector.Values) (any, error) {
	p, err := clean(in, "path")
	if err != nil {
		return nil, err
	}
	data, err := in.Content()
	if err != nil {
		return nil, badInput{err}
	}
	overwrite, err := in.Bool("overwrite", true)
	if err != nil {
		return nil, badInput{err}
	}
	if !overwrite {
		if _, err := r.Stat(p); err == nil {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrExist)
		}
	}
	if dir := path.Dir(p); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := writeThenRename(r, p, data); err != nil {
		return nil, err
	}
	return map[string]any{"size": len(data)}, nil
}

// writeThenRename writes a hidden temporary file beside p, syncs it and
// renames it over p, so readers never see a half-written file.
func writeThenRename(r *os.Root, p string, data []byte) error {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+"."+hex.EncodeToString(b)+".tmp")
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		r.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		r.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		r.Remove(tmp)
		return err
	}
	if err := r.Rename(tmp, p); err != nil {
		r.Remove(tmp)
		return err
	}
	return nil
}

func move(r *os.Root, in connector.Values) (any, error) {
	from, err := clean(in, "from")
	if err != nil {
		return nil, err
	}
	to, err := clean(in, "to")
	if err != nil {
		return nil, err
	}
	overwrite, err := in.Bool("overwrite", false)
	if err != nil {
		return nil, badInput{err}
	}
	if _, err := r.Stat(from); err != nil {
		return nil, err
	}
	if !overwrite {
		if _, err := r.Stat(to); err == nil {
			return nil, fmt.Errorf("%s: %w", to, fs.ErrExist)
		}
	}
	if dir := path.Dir(to); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := r.Rename(from, to); err != nil {
		return nil, err
	}
	return map[string]any{"from": from, "to": to}, nil
}

func remove(r *os.Root, in connector.Values) (any, error) {
	p, err := clean(in, "path")
	if err != nil {
		return nil, err
	}
	st, err := r.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, badInput{fmt.Errorf("%s is a folder", p)}
	}
	if err := r.Remove(p); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": true}, nil
}
