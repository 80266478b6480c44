package trace

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/txd/txd/wire"
)

func TestRingKeepsEventsInOrder(t *testing.T) {
	r := New(4, 100)
	r.Add("tx", "", Event{Time: 1, Kind: Recv, What: "PREPARE", Peer: "COORD"})
	r.Add("tx", wire.ThreePC, Event{Time: 2, Kind: Force, What: "PREPARED"})
	r.Add("tx", "", Event{Time: 3, Kind: Send, What: "VOTE YES", Peer: "COORD"})
	ev, proto, dropped, ok := r.Get("tx")
	if !ok || proto != wire.ThreePC || dropped != 0 || len(ev) != 3 {
		t.Fatalf("Get: %v %q %d %v", ev, proto, dropped, ok)
	}
	for i, e := range ev {
		if e.Time != int64(i+1) {
			t.Fatalf("event %d has time %d: %+v", i, e.Time, ev)
		}
	}
	if !r.Has("tx", Force, "PREPARED") || r.Has("tx", Log, "PREPARED") || r.Has("other", Force, "PREPARED") {
		t.Fatal("Has answers wrong")
	}
	if _, _, _, ok := r.Get("other"); ok {
		t.Fatal("unknown transaction found")
	}
	if r.Since() != 100 {
		t.Fatalf("since %d", r.Since())
	}
	// A copy: changing it does not change the ring.
	ev[0].What = "X"
	if ev2, _, _, _ := r.Get("tx"); ev2[0].What != "PREPARE" {
		t.Fatal("Get returned the ring's own slice")
	}
}

func TestRingEvictsOldestTransaction(t *testing.T) {
	r := New(3, 0)
	for i := range 5 {
		r.Add(fmt.Sprint("tx", i), "", Event{Time: int64(i), Kind: Send, What: "PREPARE"})
	}
	if r.Len() != 3 {
		t.Fatalf("ring holds %d transactions, want 3", r.Len())
	}
	for i := range 5 {
		ev, proto, _, ok := r.Get(fmt.Sprint("tx", i))
		if ok != (i >= 2) {
			t.Fatalf("tx%d present=%v", i, ok)
		}
		if ok && (len(ev) != 1 || ev[0].Time != int64(i) || proto != "") {
			t.Fatalf("tx%d: a reused slot kept old state: %+v %q", i, ev, proto)
		}
	}
	// Later events of a kept transaction do not evict anything.
	r.Add("tx4", "", Event{Time: 9, Kind: Recv, What: "VOTE YES"})
	if _, _, _, ok := r.Get("tx2"); !ok {
		t.Fatal("an event of a known transaction evicted another")
	}
}

// A long-running transaction keeps its first half and its latest events.
func TestRingBoundsOneTransaction(t *testing.T) {
	r := New(2, 0)
	n := maxEvents + 50
	for i := range n {
		r.Add("tx", "", Event{Time: int64(i), Kind: Send, What: "COMMIT"})
	}
	ev, _, dropped, _ := r.Get("tx")
	if len(ev) != maxEvents || dropped != n-maxEvents {
		t.Fatalf("%d events, %d dropped; want %d and %d", len(ev), dropped, maxEvents, n-maxEvents)
	}
	half := maxEvents / 2
	for i := range half {
		if ev[i].Time != int64(i) {
			t.Fatalf("first half: event %d has time %d", i, ev[i].Time)
		}
	}
	for i := half; i < maxEvents; i++ {
		want := int64(n - (maxEvents - i))
		if ev[i].Time != want {
			t.Fatalf("latest half: event %d has time %d, want %d", i, ev[i].Time, want)
		}
	}
	// Its slot, reused by a new transaction, does not keep the big slice.
	r.Add("a", "", Event{Time: 1})
	r.Add("b", "", Event{Time: 2})
	for _, s := range r.order {
		if cap(s.events) > keepCap {
			t.Fatalf("a reused slot kept %d events of room", cap(s.events))
		}
	}
}

// Reasons survive the compact storage, each on its own event; names
// beyond the interning bound read back as "?".
func TestRingDetailsAndNames(t *testing.T) {
	r := New(2, 0)
	r.Add("tx", "", Event{Time: 1, Kind: Send, What: "VOTE NO", Peer: "COORD", Detail: "balance would be -5"})
	r.Add("tx", "", Event{Time: 2, Kind: Log, What: "ABORT", Detail: "balance would be -5"})
	r.Add("tx", "", Event{Time: 3, Kind: Recv, What: "ABORT", Peer: "COORD", Detail: "C voted NO"})
	r.Add("tx", "", Event{Time: 4, Kind: Send, What: "ACK ABORTED", Peer: "COORD"})
	ev, _, _, _ := r.Get("tx")
	want := []Event{
		{Time: 1, Kind: Send, What: "VOTE NO", Peer: "COORD", Detail: "balance would be -5"},
		{Time: 2, Kind: Log, What: "ABORT", Detail: "balance would be -5"},
		{Time: 3, Kind: Recv, What: "ABORT", Peer: "COORD", Detail: "C voted NO"},
		{Time: 4, Kind: Send, What: "ACK ABORTED", Peer: "COORD"},
	}
	if fmt.Sprint(ev) != fmt.Sprint(want) {
		t.Fatalf("events\n got %+v\nwant %+v", ev, want)
	}
	for i := range maxNames + 10 {
		r.Add("names", "", Event{Time: int64(i), Kind: Recv, What: "QUERY", Peer: fmt.Sprint("node", i)})
	}
	ev, _, _, _ = r.Get("names")
	if last := ev[len(ev)-1]; last.Peer != "?" || last.What != "QUERY" || ev[0].Peer != "node0" {
		t.Fatalf("past the name bound: first %+v, last %+v", ev[0], last)
	}
}

func TestRingNilAndConcurrent(t *testing.T) {
	var nr *Ring
	nr.Add("tx", "", Event{}) // a node without tracing: no panic
	r := New(100, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				r.Add(fmt.Sprint("tx", i%200), "", Event{Time: int64(g*1000 + i), Kind: Send})
			}
		}()
	}
	wg.Wait()
	if r.Len() != 100 {
		t.Fatalf("ring holds %d transactions, want 100", r.Len())
	}
}

func TestLabel(t *testing.T) {
	cases := []struct {
		m                  wire.Message
		txid, what, detail string
		proto              wire.Protocol
	}{
		{&wire.Prepare{TxID: "a", Protocol: wire.ThreePC}, "a", "PREPARE", "", wire.ThreePC},
		{&wire.Vote{TxID: "a", Yes: true}, "a", "VOTE YES", "", ""},
		{&wire.Vote{TxID: "a", Reason: "balance would be -5"}, "a", "VOTE NO", "balance would be -5", ""},
		{&wire.Decision{TxID: "a", Commit: true}, "a", "COMMIT", "", ""},
		{&wire.Decision{TxID: "a", Reason: "B voted NO"}, "a", "ABORT", "B voted NO", ""},
		{&wire.PreCommit{TxID: "a"}, "a", "PRE-COMMIT", "", wire.ThreePC},
		{&wire.Ack{TxID: "a", State: wire.StateCommitted}, "a", "ACK COMMITTED", "", ""},
		{&wire.Ack{TxID: "a", State: "bogus"}, "a", "ACK ?", "", ""},
		{&wire.Query{TxID: "a"}, "a", "QUERY", "", ""},
		{&wire.QueryReply{TxID: "a"}, "a", "REPLY UNKNOWN", "", ""},
		{&wire.Start{TxID: "a", Protocol: wire.TwoPC}, "a", "START", "", wire.TwoPC},
		{&wire.StartResult{TxID: "a", Outcome: wire.StateAborted, Reason: "r"}, "a", "RESULT ABORTED", "r", ""},
		{&wire.StatusReq{}, "", "", "", ""},
	}
	for _, c := range cases {
		txid, what, detail, proto := Label(c.m)
		if txid != c.txid || what != c.what || detail != c.detail || proto != c.proto {
			t.Errorf("Label(%T %+v) = %q %q %q %q", c.m, c.m, txid, what, detail, proto)
		}
	}
	// Labels are shared strings: recording allocates nothing.
	if n := testing.AllocsPerRun(100, func() { Label(&wire.Ack{TxID: "a", State: wire.StateCommitted}) }); n != 0 {
		t.Errorf("Label allocates %.0f times", n)
	}
}

func BenchmarkRingAdd(b *testing.B) {
	r := New(DefaultTxns, 0)
	ids := make([]string, 50000)
	for i := range ids {
		ids[i] = fmt.Sprint("tx-", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.Add(ids[(i/8)%len(ids)], "", Event{Time: int64(i), Kind: Send, What: "PREPARE", Peer: "B"})
	}
}

// BenchmarkRingAddParallel: a node's readers, actors and WAL writer record
// at once (GOMAXPROCS goroutines, each its own transactions).
func BenchmarkRingAddParallel(b *testing.B) {
	r := New(DefaultTxns, 0)
	ids := make([]string, 50000)
	for i := range ids {
		ids[i] = fmt.Sprint("tx-", i)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			r.Add(ids[(i/8)%len(ids)], "", Event{Time: int64(i), Kind: Send, What: "PREPARE", Peer: "B"})
			i++
		}
	})
}
