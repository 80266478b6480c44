package wire

import (
	"testing"

	"github.com/txd/txd/internal/codecgen"
)

// TestCodecGenerated fails if codec_gen.go is not what the message structs
// declare now: run go generate ./wire.
func TestCodecGenerated(t *testing.T) {
	if err := codecgen.Stale("."); err != nil {
		t.Fatal(err)
	}
}
