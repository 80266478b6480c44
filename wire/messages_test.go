package wire

import "testing"

// TestTypesListsEveryName: Types lists every tag, and each has a name.
func TestTypesListsEveryName(t *testing.T) {
	types := Types()
	if len(types) != int(TypeLimit)-1 || types[0] != TypeHello || types[len(types)-1] != TypeLimit-1 {
		t.Fatalf("Types() = %v", types)
	}
	for _, typ := range types {
		if typeNames[typ] == "" {
			t.Errorf("type %d has no name", typ)
		}
	}
}

func TestParseProtocol(t *testing.T) {
	for in, want := range map[string]Protocol{"2pc": TwoPC, "3PC": ThreePC, "parallel": Parallel, "PARALLEL": Parallel} {
		if got, err := ParseProtocol(in); err != nil || got != want || !got.Valid() {
			t.Errorf("ParseProtocol(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4PC", "Parallel"} {
		if got, err := ParseProtocol(in); err == nil || Protocol(in).Valid() {
			t.Errorf("ParseProtocol(%q) = %q, want an error", in, got)
		}
	}
}
