//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package walstore

import (
	"errors"
	"os"
)

var errLockHeld = errors.New("lock held")

// lockFile refuses: without a lock two processes could append to one log,
// and that must not pass silently.
func lockFile(*os.File) error {
	return errors.ErrUnsupported
}
