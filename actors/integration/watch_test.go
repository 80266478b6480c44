package integration

import (
	"context"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// The coordinator's status counts its decisions and stamps each
// transaction's start and decision on its own clock, for txcli watch.
func TestCoordinatorStatusCountsAndTimes(t *testing.T) {
	tc := startTestCluster(t, "B")
	before := time.Now().UnixNano()
	cl, err := transport.DialClient(context.Background(), tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	for i, op := range []wire.Op{
		{Kind: wire.OpSet, Key: "a", Value: "1"},
		{Kind: wire.OpAdd, Key: "b", Delta: 1},
		{Kind: wire.OpAdd, Key: "c", Delta: -100}, // would go negative: NO
	} {
		if _, err := cl.Start(ctx, "W"+string(rune('1'+i)), wire.TwoPC, []wire.Op{op}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := tc.status(tc.coord.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if st.Committed != 2 || st.Aborted != 1 {
		t.Errorf("committed %d aborted %d, want 2 and 1", st.Committed, st.Aborted)
	}
	if st.Boot < before-int64(time.Minute) || st.Boot > st.Now || st.Now < before {
		t.Errorf("boot %d now %d (test began %d)", st.Boot, st.Now, before)
	}
	if len(st.Transactions) != 3 {
		t.Fatalf("transactions %+v", st.Transactions)
	}
	for _, tx := range st.Transactions {
		if tx.Started < before || tx.Decided < tx.Started || tx.Decided > st.Now {
			t.Errorf("%s: started %d decided %d now %d (test began %d)", tx.TxID, tx.Started, tx.Decided, st.Now, before)
		}
	}
}
