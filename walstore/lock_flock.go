//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package walstore

import (
	"errors"
	"os"
	"syscall"
)

// errLockHeld means the lock is held through another open file
// description, in this process or another.
var errLockHeld = errors.New("lock held")

// lockFile takes an exclusive flock on f without waiting. flock (unlike
// fcntl locks) belongs to the open file description, so a second Open in
// the same process is refused too, and the lock is released when f is
// closed, including when the process dies.
func lockFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lockErr error
	err = rc.Control(func(fd uintptr) {
		for {
			lockErr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if lockErr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if lockErr == syscall.EWOULDBLOCK {
		return errLockHeld
	}
	return lockErr
}
