package walstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// openLocked opens (or creates) the log file and takes its lock, and
// reports whether it created the file.
//
// After locking it checks that path still names the file it locked:
// another process may have renamed a rewritten log over path between our
// open and our flock, and then released its lock on the old, unlinked
// file. Locking that orphan would let two processes append to "the" log.
func openLocked(path string, syncDir func(string) error) (*os.File, bool, error) {
	for attempt := 0; ; attempt++ {
		f, created, err := openOrCreate(path)
		if err != nil {
			return nil, false, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			if errors.Is(err, errLockHeld) {
				return nil, false, fmt.Errorf("%w: file %s", ErrLocked, path)
			}
			return nil, false, fmt.Errorf("walstore: lock file %s: %w", path, err)
		}
		same, err := namesFile(path, f)
		if err != nil {
			f.Close()
			return nil, false, err
		}
		if same {
			if created {
				// The new directory entry is not durable until the
				// directory itself is synced.
				if err := syncDir(filepath.Dir(path)); err != nil {
					f.Close()
					return nil, false, fmt.Errorf("walstore: sync directory of new file %s: %w", path, err)
				}
			}
			return f, created, nil
		}
		f.Close()
		if attempt >= 100 {
			return nil, false, fmt.Errorf("walstore: open file %s: replaced by another process on every attempt", path)
		}
	}
}

// openOrCreate opens path read-write, creating it if needed, and reports
// whether it created it.
func openOrCreate(path string) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, fmt.Errorf("walstore: create file %s: %w", path, err)
	}
	f, err = os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, false, fmt.Errorf("walstore: open file %s: %w", path, err)
	}
	return f, false, nil
}

// namesFile reports whether path currently refers to the open file f.
func namesFile(path string, f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("walstore: stat file %s: %w", path, err)
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("walstore: stat file %s: %w", path, err)
	}
	return os.SameFile(fi, pi), nil
}

// syncDirPath fsyncs a directory so that entries created or renamed in it
// survive a crash.
func syncDirPath(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// zeros is the source for zero-filling; it is only ever read.
var zeros [64 << 10]byte

// writeZeros overwrites file bytes [from, to) with zeros.
func writeZeros(f *os.File, from, to int64) error {
	for from < to {
		n := min(int64(len(zeros)), to-from)
		if _, err := f.WriteAt(zeros[:n], from); err != nil {
			return err
		}
		from += n
	}
	return nil
}
