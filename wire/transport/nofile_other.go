//go:build !unix

package wire

// nofileLimit: no descriptor limit to read here; assume a common one.
func nofileLimit() uint64 { return 4096 }
