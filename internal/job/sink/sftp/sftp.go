// Package sftp is where a file sink sends its finished output besides its
// folder: a remote SFTP folder, under a temporary name renamed when complete.
package sftp

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/pkg/sftp"
)

// Upload copies local (a file, or a folder with its files) to remoteDir on
// the server under a temporary name and renames it when complete.
func Upload(client *sftp.Client, local, remoteDir string) error {
	if remoteDir == "" {
		remoteDir = "."
	}
	if err := client.MkdirAll(remoteDir); err != nil {
		return fmt.Errorf("create %s: %w", remoteDir, err)
	}
	name := filepath.Base(local)
	tmp := path.Join(remoteDir, "."+name+".tmp")
	st, err := os.Stat(local)
	if err != nil {
		return err
	}
	if st.IsDir() {
		err = filepath.Walk(local, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(local, p)
			target := path.Join(tmp, filepath.ToSlash(rel))
			if info.IsDir() {
				return client.MkdirAll(target)
			}
			return putFile(client, p, target)
		})
	} else {
		err = putFile(client, local, tmp)
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", name, err)
	}
	if err := client.Rename(tmp, path.Join(remoteDir, name)); err != nil {
		return fmt.Errorf("rename %s into place: %w", name, err)
	}
	return nil
}

func putFile(c *sftp.Client, local, remote string) error {
	in, err := os.Open(local)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := c.Create(remote)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
