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
