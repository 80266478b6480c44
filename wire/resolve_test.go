package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"testing"
)

// TestResolveTypeNumbers: the values are fixed by agreement with the trace
// branch (16, 17); they are part of the wire format.
func TestResolveTypeNumbers(t *testing.T) {
	if TypeResolve != 18 || TypeResolveResult != 19 {
		t.Fatalf("TypeResolve = %d, TypeResolveResult = %d; want 18, 19", TypeResolve, TypeResolveResult)
	}
	if TypeResolve.String() != "Resolve" || Type(16).String() != "Type(16)" {
		t.Fatalf("names: %q, %q", TypeResolve.String(), Type(16).String())
	}
}

// TestKnownTypes: known (AppendFrame's check) and New agree on every type.
func TestKnownTypes(t *testing.T) {
	for ty := Type(0); ty < typeLimit+2; ty++ {
		if ty.known() != (New(ty) != nil) {
			t.Errorf("%d: known %v, New %v", ty, ty.known(), New(ty))
		}
	}
}

// TestAckFromOlderSender: an Ack without the Heuristic field (a node built
// before it was added) decodes with Heuristic false.
func TestAckFromOlderSender(t *testing.T) {
	body, _ := hex.DecodeString("93a474782d32a142a9434f4d4d4954544544")
	var frame bytes.Buffer
	frame.Write([]byte{0, 0, 0, byte(len(body) + 1), byte(TypeAck)})
	frame.Write(body)
	m, err := ReadFrame(bufio.NewReader(&frame), 0)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := m.(*Ack)
	if !ok || *a != (Ack{TxID: "tx-2", From: "B", State: StateCommitted}) {
		t.Fatalf("decoded %#v", m)
	}
}
