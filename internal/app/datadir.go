package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// dataDir is the data folder, locked so that two servers never share it.
type dataDir struct {
	path string
	lock *os.File
}

func openDataDir(path string) (*dataDir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, configErr("--data", "%v", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, configErr("--data", "cannot create %s: %v", abs, err)
	}
	f, err := os.OpenFile(filepath.Join(abs, "junction.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, configErr("--data", "folder %s is not writable: %v", abs, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(filepath.Join(abs, "junction.lock"))
		f.Close()
		return nil, configErr("--data", "folder %s is in use by another junction process (pid %s)", abs, string(pid))
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, configErr("--data", "folder %s is not writable: %v", abs, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		f.Close()
		return nil, configErr("--data", "folder %s is not writable: %v", abs, err)
	}
	return &dataDir{path: abs, lock: f}, nil
}

func (d *dataDir) join(parts ...string) string {
	return filepath.Join(append([]string{d.path}, parts...)...)
}

func (d *dataDir) close() error {
	if d == nil || d.lock == nil {
		return nil
	}
	err := d.lock.Close()
	d.lock = nil
	if err != nil {
		return fmt.Errorf("release data folder lock: %w", err)
	}
	return nil
}
