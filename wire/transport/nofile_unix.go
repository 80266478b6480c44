//go:build unix

package transport

import "syscall"

// nofileLimit is the process's soft descriptor limit (RLIMIT_NOFILE).
func nofileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 1024 // the common default
	}
	return r.Cur
}
