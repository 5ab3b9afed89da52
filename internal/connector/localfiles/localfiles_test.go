package localfiles_test

import (
	"os"
	"path/filepath"
	"testing"

	"junction/internal/connector/connectortest"
	"junction/internal/connector/localfiles"
)

func TestDescription(t *testing.T) {
	t.Parallel()
	connectortest.Describe(t, localfiles.New())
}

func TestFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	c := localfiles.New()
	conn := map[string]any{"root": root}
	connectortest.Invoke(t, c, conn, "writeFile", map[string]any{"path": "in/orders.csv", "content": "id,name\n1,a\n"})
	connectortest.Invoke(t, c, conn, "writeFile", map[string]any{"path": "in/blob.bin", "content": "AAEC", "encoding": "base64"})
	out := connectortest.Invoke(t, c, conn, "listFiles", map[string]any{"folder": "in", "pattern": "*.csv"}).(map[string]any)
	files := out["files"].([]any)
	if len(files) != 1 || files[0].(map[string]any)["path"] != "in/orders.csv" || files[0].(map[string]any)["size"] != int64(12) {
		t.Fatalf("list: %v", files)
	}
	out = connectortest.Invoke(t, c, conn, "readFile", map[string]any{"path": "in/blob.bin", "encoding": "base64"}).(map[string]any)
	if out["content"] != "AAEC" {
		t.Fatalf("read: %v", out)
	}
	connectortest.Fails(t, c, conn, "writeFile", map[string]any{"path": "in/orders.csv", "content": "x", "overwrite": false}, false)
	connectortest.Invoke(t, c, conn, "moveFile", map[string]any{"from": "in/orders.csv", "to": "done/orders.csv"})
	out = connectortest.Invoke(t, c, conn, "readFile", map[string]any{"path": "done/orders.csv"}).(map[string]any)
	if out["content"] != "id,name\n1,a\n" {
		t.Fatalf("moved: %v", out)
	}
	connectortest.Invoke(t, c, conn, "deleteFile", map[string]any{"path": "done/orders.csv"})
	if ce := connectortest.Fails(t, c, conn, "readFile", map[string]any{"path": "done/orders.csv"}, false); ce.Status != 404 {
		t.Fatalf("deleted: %v", ce)
	}
	// Nothing outside the root: not by .., not by an absolute path, not through a symlink.
	connectortest.Fails(t, c, conn, "readFile", map[string]any{"path": "../" + filepath.Base(outside) + "/secret.txt"}, false)
	connectortest.Fails(t, c, conn, "readFile", map[string]any{"path": filepath.Join(outside, "secret.txt")}, false)
	connectortest.Fails(t, c, conn, "readFile", map[string]any{"path": "escape/secret.txt"}, false)
	connectortest.Fails(t, c, conn, "writeFile", map[string]any{"path": "escape/new.txt", "content": "x"}, false)
	if _, err := os.Stat(filepath.Join(outside, "new.txt")); err == nil {
		t.Fatal("a write escaped the root")
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Join(root, "in"))
	if len(entries) != 1 {
		t.Fatalf("left in in/: %v", entries)
	}
	connectortest.Fails(t, c, map[string]any{"root": filepath.Join(root, "missing")}, "listFiles", nil, false)
}
