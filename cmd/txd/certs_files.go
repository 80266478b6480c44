package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// certFile is one file txd certs writes.
type certFile struct {
	path string
	data []byte
	mode fs.FileMode
}

// badInput is an error in what the operator asked for (a file that would
// be overwritten, no CA where one is needed, a member that is not one):
// txd certs exits 2 for it, 1 for a failure of the machine.
type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

func badInputf(format string, args ...any) error {
	return &badInput{fmt.Sprintf(format, args...)}
}

// exists is the error for a file txd certs would have to overwrite; hint
// says what to do instead.
func exists(path, hint string) error {
	return badInputf("%s exists: refusing to overwrite it (%s)", path, hint)
}

// createFiles writes files into dir (created if missing), all or nothing:
// it checks first that none exists, and a failure half-way removes what it
// wrote.
func createFiles(dir string, files []certFile, hint string) (err error) {
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			return exists(f.path, hint)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p)
			}
		}
	}()
	for _, f := range files {
		// O_EXCL: a file that appeared since the check is still not
		// overwritten.
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if errors.Is(err, fs.ErrExist) {
			return exists(f.path, hint)
		}
		if err != nil {
			return err
		}
		written = append(written, f.path)
		_, err = fh.Write(f.data)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// replaceFiles puts files in place of the ones at their paths, which move
// to PATH.old (replacing an older PATH.old). Each new file is written in
// full beside its target before any is renamed, so no path ever holds a
// torn file; a rename that fails may leave a member's new certificate
// beside its old key (the old pair is then in the .old files).
func replaceFiles(files []certFile) error {
	staged := make([]string, len(files))
	defer func() {
		for _, p := range staged {
			if p != "" {
				os.Remove(p) // renamed into place already: nothing to remove
			}
		}
	}()
	for i, f := range files {
		fh, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".new-*")
		if err != nil {
			return err
		}
		staged[i] = fh.Name()
		err = fh.Chmod(f.mode)
		if err == nil {
			_, err = fh.Write(f.data)
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	for i, f := range files {
		if err := os.Rename(f.path, f.path+".old"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Rename(staged[i], f.path); err != nil {
			return err
		}
		staged[i] = ""
	}
	return nil
}
