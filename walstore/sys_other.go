//go:build !linux

package walstore

import (
	"errors"
	"os"
)

// preallocate is unavailable here; the caller writes zeros instead.
func preallocate(*os.File, int64, int64) error {
	return errors.ErrUnsupported
}

// datasync falls back to a full fsync where fdatasync is not available.
func datasync(f *os.File) error {
	return f.Sync()
}
