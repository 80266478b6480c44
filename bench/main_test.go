package bench

import (
	"os"
	"testing"

	"github.com/txd/txd/actors"
)

// TestMain runs the benchmarks with the garbage collector set as txd runs
// it (actors.TuneGC), so they measure what a deployed node does.
func TestMain(m *testing.M) {
	actors.TuneGC()
	os.Exit(m.Run())
}
