package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"testing"
)

// TestTypeNumbers: the values are part of the wire format.
func TestTypeNumbers(t *testing.T) {
	if TypeTraceReq != 16 || TypeTrace != 17 || TypeResolve != 18 || TypeResolveResult != 19 {
		t.Fatalf("TraceReq %d, Trace %d, Resolve %d, ResolveResult %d; want 16-19",
			TypeTraceReq, TypeTrace, TypeResolve, TypeResolveResult)
	}
	if TypeGetReq != 20 || TypeGetResult != 21 || TypeScanReq != 22 || TypeScanResult != 23 {
		t.Fatalf("GetReq %d, GetResult %d, ScanReq %d, ScanResult %d; want 20-23",
			TypeGetReq, TypeGetResult, TypeScanReq, TypeScanResult)
	}
	if TypeResolve.String() != "Resolve" || TypeTrace.String() != "Trace" || TypeScanResult.String() != "ScanResult" || Type(24).String() != "Type(24)" {
		t.Fatalf("names: %q, %q, %q, %q", TypeResolve.String(), TypeTrace.String(), TypeScanResult.String(), Type(24).String())
	}
}

// TestKnownTypes: known (AppendFrame's check) and New agree on every type.
func TestKnownTypes(t *testing.T) {
	for ty := Type(0); ty < TypeLimit+2; ty++ {
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
