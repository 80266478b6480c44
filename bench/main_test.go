package bench

import (
	"os"
	"testing"

	"github.com/txd/txd/actors/node"
)

// TestMain runs the benchmarks with the garbage collector set as txd runs
// it (node.TuneGC), so they measure what a deployed node does.
func TestMain(m *testing.M) {
	node.TuneGC()
	os.Exit(m.Run())
}
