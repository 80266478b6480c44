package walstore

import (
	"os"
	"syscall"
)

// preallocate reserves file bytes [off, off+n) as zeros and extends the
// size to cover them, without writing them.
func preallocate(f *os.File, off, n int64) error {
	return control(f, func(fd int) error {
		return syscall.Fallocate(fd, 0, off, n)
	})
}

// datasync flushes f's data and the metadata needed to read it back, but
// not timestamps, which saves an inode write on every commit.
func datasync(f *os.File) error {
	err := control(f, syscall.Fdatasync)
	if err == syscall.ENOSYS {
		return f.Sync()
	}
	return err
}

// control runs op on f's descriptor, retrying on EINTR; going through
// SyscallConn keeps f open for the duration of the call.
func control(f *os.File, op func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		for {
			opErr = op(int(fd))
			if opErr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return opErr
}
