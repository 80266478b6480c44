package wire

import (
	"strings"
	"testing"
)

// TestSizeLimits: a value of MaxValueLen and a transaction of MaxTxBytes
// pass, one byte more is refused, both from the command line (ParseOps)
// and from the network (CheckOps); and the largest transaction fits in a
// frame with room to spare.
func TestSizeLimits(t *testing.T) {
	val := strings.Repeat("v", MaxValueLen)
	if _, err := ParseOps([]string{"SET", "k", val}); err != nil {
		t.Errorf("a value of %d bytes refused: %v", MaxValueLen, err)
	}
	if _, err := ParseOps([]string{"SET", "k", val + "v"}); err == nil || !strings.Contains(err.Error(), "per value") {
		t.Errorf("a value of %d bytes: %v", MaxValueLen+1, err)
	}
	if err := CheckOps([]Op{{Kind: OpSet, Key: "k", Value: val + "v"}}); err == nil {
		t.Errorf("CheckOps took a value of %d bytes", MaxValueLen+1)
	}

	// MaxTxBytes in all: eight full values, less the keys' bytes.
	var words []string
	var ops []Op
	for i := range MaxTxBytes / MaxValueLen {
		k := string(rune('a' + i))
		v := val
		if i == 0 {
			v = val[MaxTxBytes/MaxValueLen:] // room for the eight one-byte keys
		}
		words = append(words, "SET", k, v)
		ops = append(ops, Op{Kind: OpSet, Key: k, Value: v})
	}
	if TxBytes(ops) != MaxTxBytes {
		t.Fatalf("test transaction of %d bytes, want %d", TxBytes(ops), MaxTxBytes)
	}
	if _, err := ParseOps(words); err != nil {
		t.Errorf("a transaction of %d bytes refused: %v", MaxTxBytes, err)
	}
	if err := CheckOps(ops); err != nil {
		t.Errorf("CheckOps refused a transaction of %d bytes: %v", MaxTxBytes, err)
	}
	words = append(words, "SET", "z", "1")
	if _, err := ParseOps(words); err == nil || !strings.Contains(err.Error(), "per transaction") {
		t.Errorf("a transaction of %d bytes: %v", MaxTxBytes+2, err)
	}
	if err := CheckOps(append(ops, Op{Kind: OpSet, Key: "z", Value: "1"})); err == nil {
		t.Errorf("CheckOps took a transaction of %d bytes", MaxTxBytes+2)
	}

	// The worst Start within the limits: MaxOps operations with the longest
	// targets, MaxTxBytes of keys and values, the longest id.
	worst := make([]Op, MaxOps)
	long := strings.Repeat("T", MaxIDLen)
	for i := range worst {
		worst[i] = Op{Target: long, Kind: OpSet, Key: strings.Repeat("k", MaxTxBytes/MaxOps), Delta: -1 << 62}
	}
	f, err := AppendFrame(nil, &Start{ReqID: 1 << 62, TxID: long, Protocol: ThreePC, Ops: worst})
	if err != nil {
		t.Fatal(err)
	}
	if len(f) > DefaultMaxFrame*3/4 {
		t.Errorf("the largest Start takes %d bytes, too close to a frame (%d)", len(f), DefaultMaxFrame)
	}
}
