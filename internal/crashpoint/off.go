//go:build !crashpoints

package crashpoint

import (
	"fmt"
	"os"
)

// Enabled is false: this binary has no crash points.
const Enabled = false

// Init refuses TXD_CRASHPOINT: this binary cannot honour it, and ignoring
// it would let a test pass without crashing.
func Init() error {
	if v, ok := os.LookupEnv(EnvVar); ok && v != "" {
		return fmt.Errorf("%s=%q: this binary was built without -tags crashpoints", EnvVar, v)
	}
	return nil
}

// Hit does nothing in this build.
func Hit(string) {}

// Before does nothing in this build; torn is never called.
func Before(string, func()) {}
