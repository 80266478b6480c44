package coordinator

import (
	"slices"
	"testing"

	"github.com/txd/txd/wire"
)

// The shards' lists merge in arrival order, keep every running transaction
// wherever it is, and only the newest finished ones.
func TestStatusMergesShards(t *testing.T) {
	tx := func(id string, seen int64, finished bool) seenTx {
		return seenTx{TxStatus: wire.TxStatus{TxID: id}, seen: seen, finished: finished}
	}
	all := []seenTx{ // as two shards answer: each in its own order
		tx("a1", 1, true), tx("a3", 3, false), tx("a5", 5, true), tx("a6", 6, true),
		tx("b2", 2, true), tx("b4", 4, true), tx("b7", 7, false),
	}
	var got []string
	for _, s := range newest(all, 2) {
		got = append(got, s.TxID)
	}
	if want := []string{"a3", "a5", "a6", "b7"}; !slices.Equal(got, want) {
		t.Fatalf("merged %v, want %v", got, want)
	}
}
