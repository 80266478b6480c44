//go:build !unix

package transport

// nofileLimit: no descriptor limit to read here; assume a common one.
func nofileLimit() uint64 { return 4096 }
