package sftp

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"
)

// handlers serve one session inside the user's os.Root.
type handlers struct {
	root     *os.Root
	user     string
	onUpload func(user, path string)
}

// rel turns the client's path (absolute in the user's view) into a path
// inside the root. path.Clean removes any ".." that would climb above "/";
// os.Root refuses symbolic links that lead out.
func rel(p string) string {
	r := strings.TrimPrefix(path.Clean("/"+p), "/")
	if r == "" {
		return "."
	}
	return r
}

func (h *handlers) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	f, err := h.root.Open(rel(r.Filepath))
	if err != nil {
		return nil, mapErr(err)
	}
	return f, nil
}

type upload struct {
	*os.File
	h    *handlers
	name string
}

func (u *upload) Close() error {
	err := u.File.Close()
	if err == nil && u.h.onUpload != nil {
		u.h.onUpload(u.h.user, u.name)
	}
	return err
}

func (h *handlers) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	flags := os.O_WRONLY | os.O_CREATE
	pf := r.Pflags()
	if pf.Trunc {
		flags |= os.O_TRUNC
	}
	if pf.Excl {
		flags |= os.O_EXCL
	}
	if pf.Read {
		flags = flags&^os.O_WRONLY | os.O_RDWR
	}
	name := rel(r.Filepath)
	f, err := h.root.OpenFile(name, flags, 0o640)
	if err != nil {
		return nil, mapErr(err)
	}
	return &upload{File: f, h: h, name: name}, nil
}

func (h *handlers) Filecmd(r *sftp.Request) error {
	p := rel(r.Filepath)
	switch r.Method {
	case "Setstat":
		return nil
	case "Rename", "PosixRename":
		return mapErr(h.root.Rename(p, rel(r.Target)))
	case "Rmdir", "Remove":
		if p == "." {
			return sftp.ErrSSHFxPermissionDenied
		}
		return mapErr(h.root.Remove(p))
	case "Mkdir":
		return mapErr(h.root.Mkdir(p, 0o750))
	case "Link", "Symlink":
		return sftp.ErrSSHFxPermissionDenied
	}
	return sftp.ErrSSHFxOpUnsupported
}

type lister []os.FileInfo

func (l lister) ListAt(out []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[offset:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}

func (h *handlers) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := rel(r.Filepath)
	switch r.Method {
	case "List":
		f, err := h.root.Open(p)
		if err != nil {
			return nil, mapErr(err)
		}
		defer f.Close()
		entries, err := f.ReadDir(-1)
		if err != nil {
			return nil, mapErr(err)
		}
		out := make(lister, 0, len(entries))
		for _, e := range entries {
			if info, err := e.Info(); err == nil {
				out = append(out, info)
			}
		}
		return out, nil
	case "Stat":
		info, err := h.root.Stat(p)
		if err != nil {
			return nil, mapErr(err)
		}
		if p == "." {
			info = rootInfo{info}
		}
		return lister{info}, nil
	case "Lstat":
		info, err := h.root.Lstat(p)
		if err != nil {
			return nil, mapErr(err)
		}
		return lister{info}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// rootInfo names the user's root "/".
type rootInfo struct{ os.FileInfo }

func (rootInfo) Name() string { return "/" }

// RealPath keeps every path inside the user's view.
func (h *handlers) RealPath(p string) (string, error) { return path.Clean("/" + p), nil }

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return sftp.ErrSSHFxNoSuchFile
	case errors.Is(err, fs.ErrPermission):
		return sftp.ErrSSHFxPermissionDenied
	case strings.Contains(err.Error(), "escapes") || strings.Contains(err.Error(), "path escapes"):
		return sftp.ErrSSHFxPermissionDenied
	}
	return sftp.ErrSSHFxFailure
}
