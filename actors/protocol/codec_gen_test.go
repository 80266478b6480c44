package protocol

import (
	"testing"

	"github.com/txd/txd/internal/codecgen"
)

// TestCodecGenerated fails if effects_codec_gen.go is not what Record
// declare now: run go generate ./actors/protocol.
func TestCodecGenerated(t *testing.T) {
	if err := codecgen.Stale("."); err != nil {
		t.Fatal(err)
	}
}
