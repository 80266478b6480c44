//go:build crashpoints

package crashpoint

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
)

// Enabled is true: this binary was built with -tags crashpoints.
const Enabled = true

// armed is the point selected by Init, read-only after it; hits counts its
// hits. Package state, because a crash point is process-wide by nature.
var (
	armed Spec
	hits  atomic.Int64
)

// Init reads TXD_CRASHPOINT once. Call it at start, before any Hit; an
// unknown name or a bad count is an error the process must not start with.
func Init() error {
	v := os.Getenv(EnvVar)
	if v == "" {
		return nil
	}
	s, err := Parse(v)
	if err != nil {
		return err
	}
	armed = s
	fmt.Fprintf(os.Stderr, "crashpoint: armed %s\n", s)
	return nil
}

// Hit counts a hit of point name and kills the process if it is the armed
// one's chosen hit.
func Hit(name string) { Before(name, nil) }

// Before is Hit that first runs f (if not nil) when the process is about
// to die there: a point that must leave the disk in a particular state,
// such as a torn write, does that damage in f.
func Before(name string, f func()) {
	if name != armed.Name || hits.Add(1) != armed.At {
		return
	}
	if f != nil {
		f()
	}
	// One unbuffered write, so the test can tell where the node died.
	fmt.Fprintf(os.Stderr, "crashpoint: %s: SIGKILL\n", armed)
	syscall.Kill(os.Getpid(), syscall.SIGKILL) //nolint:errcheck // nothing to do if it fails but wait
	select {}                                  // never run on: the signal is on its way
}
