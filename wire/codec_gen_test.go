package wire

import (
	"reflect"
	"slices"
	"testing"

	"github.com/txd/txd/internal/codecgen"
)

// TestCodecGenerated fails if a *_codec_gen.go is not what the message structs
// declare now: run go generate ./wire.
func TestCodecGenerated(t *testing.T) {
	if err := codecgen.Stale("."); err != nil {
		t.Fatal(err)
	}
}

// TestCodecTypesListed: every type with a generated encoder and decoder is
// in codecTypes, so the tests compare it with reflection.
func TestCodecTypesListed(t *testing.T) {
	want, err := codecgen.Types(".")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, typ := range codecTypes {
		got = append(got, typ.Name())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("codecTypes lists %v; the types with generated codecs are %v", got, want)
	}
}
