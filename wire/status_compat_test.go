package wire

import (
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The Status layout before txcli watch added fields at the end of
// TxStatus and Status, the one before reads added the store's summary, and
// one from a future version with a field more.
type oldTxStatus struct {
	_msgpack     struct{} `msgpack:",as_array"`
	TxID         string
	Protocol     Protocol
	State        State
	Reason       string
	Participants map[string]State
}

type oldStatus struct {
	_msgpack     struct{} `msgpack:",as_array"`
	ReqID        uint64
	NodeID       string
	Role         Role
	Store        map[string]string
	Participants []PeerStatus
	Transactions []oldTxStatus
}

type watchStatus struct {
	_msgpack     struct{} `msgpack:",as_array"`
	ReqID        uint64
	NodeID       string
	Role         Role
	Store        map[string]string
	Participants []PeerStatus
	Transactions []TxStatus
	Committed    uint64
	Aborted      uint64
	Boot, Now    int64
}

type futureTxStatus struct {
	_msgpack         struct{} `msgpack:",as_array"`
	TxID             string
	Protocol         Protocol
	State            State
	Reason           string
	Participants     map[string]State
	Started, Decided int64
	Heuristic        bool
	Damage           bool
	Prepared         int64
	Doubt            *TxDoubt
	Extra            []string
}

type futureStatus struct {
	_msgpack     struct{} `msgpack:",as_array"`
	ReqID        uint64
	NodeID       string
	Role         Role
	Store        map[string]string
	Participants []PeerStatus
	Transactions []futureTxStatus
	Committed    uint64
	Aborted      uint64
	Boot, Now    int64
	Keys         uint64
	KeyBytes     uint64
	ValueBytes   uint64
	Truncated    bool
	Extra        map[string][]int
}

// A status from a node older or newer than the reader decodes: the fields
// both know are filled, the reader's new ones stay zero, the sender's new
// ones are skipped.
func TestStatusOlderAndNewerLayouts(t *testing.T) {
	parts := map[string]State{"B": StateReady}
	peers := []PeerStatus{{ID: "B", Addr: "h:1", Connected: true}}
	want := Status{ReqID: 7, NodeID: "COORD", Role: RoleCoordinator, Participants: peers,
		Transactions: []TxStatus{{TxID: "T1", Protocol: TwoPC, State: StateInit, Reason: "r", Participants: parts}}}

	old := oldStatus{ReqID: 7, NodeID: "COORD", Role: RoleCoordinator, Participants: peers,
		Transactions: []oldTxStatus{{TxID: "T1", Protocol: TwoPC, State: StateInit, Reason: "r", Participants: parts}}}
	var got Status
	decodeVia(t, &old, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("older sender:\n got %+v\nwant %+v", got, want)
	}

	fut := futureStatus{ReqID: 7, NodeID: "COORD", Role: RoleCoordinator, Participants: peers,
		Transactions: []futureTxStatus{{TxID: "T1", Protocol: TwoPC, State: StateInit, Reason: "r",
			Participants: parts, Started: 150, Decided: 160, Prepared: 140,
			Doubt: &TxDoubt{Coord: "COORD", CoordAddr: "h:0", Members: []Member{{ID: "B", Addr: "h:1"}}}, Extra: []string{"x"}}},
		Committed: 5, Aborted: 2, Boot: 100, Now: 200, Keys: 40002, KeyBytes: 500000, ValueBytes: 3 << 30, Truncated: true,
		Extra: map[string][]int{"a": {1, 2}}}
	want.Committed, want.Aborted, want.Boot, want.Now = 5, 2, 100, 200
	want.Transactions[0].Started, want.Transactions[0].Decided = 150, 160
	want.Transactions[0].Prepared = 140
	want.Transactions[0].Doubt = &TxDoubt{Coord: "COORD", CoordAddr: "h:0", Members: []Member{{ID: "B", Addr: "h:1"}}}

	// A node from before the store's summary: its store whole, no summary.
	watch := watchStatus{ReqID: 7, NodeID: "B", Role: RoleParticipant, Store: map[string]string{"k": "v"},
		Transactions: want.Transactions, Committed: 5, Aborted: 2, Boot: 100, Now: 200}
	got = Status{}
	decodeVia(t, &watch, &got)
	wantWatch := Status{ReqID: 7, NodeID: "B", Role: RoleParticipant, Store: map[string]string{"k": "v"},
		Transactions: want.Transactions, Committed: 5, Aborted: 2, Boot: 100, Now: 200}
	if !reflect.DeepEqual(got, wantWatch) {
		t.Errorf("sender before the summary:\n got %+v\nwant %+v", got, wantWatch)
	}

	want.Keys, want.KeyBytes, want.ValueBytes, want.StoreTruncated = 40002, 500000, 3<<30, true
	got = Status{}
	decodeVia(t, &fut, &got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("newer sender:\n got %+v\nwant %+v", got, want)
	}
}

func decodeVia(t *testing.T, from any, to *Status) {
	t.Helper()
	b, err := msgpack.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := msgpack.Unmarshal(b, to); err != nil {
		t.Fatalf("decoding %T as Status: %v", from, err)
	}
}

// The lenient decoders read exactly what reflection writes, in the array
// and the map form.
func TestStatusDecoderMatchesReflection(t *testing.T) {
	for _, st := range []*Status{
		{},
		{ReqID: 1, NodeID: "B", Role: RoleParticipant, Store: map[string]string{"k": "v", "": ""},
			Transactions: []TxStatus{{TxID: "T", State: StateReady}, {}}},
		{ReqID: 1<<63 + 5, NodeID: "C", Role: RoleCoordinator, Participants: []PeerStatus{{ID: "B"}, {Addr: "x:1"}},
			Transactions: []TxStatus{{TxID: "T", Protocol: ThreePC, State: StateCommitted, Reason: "why",
				Participants: map[string]State{"B": StateCommitted, "C": StateUnknown}, Started: -1, Decided: 1 << 62}},
			Committed: 1 << 40, Aborted: 3, Boot: 1, Now: -5},
		{ReqID: 2, NodeID: "B", Role: RoleParticipant, Store: map[string]string{},
			Keys: 1 << 33, KeyBytes: 1 << 40, ValueBytes: 1<<63 + 1, StoreTruncated: true},
	} {
		for _, arrays := range []bool{true, false} {
			b := reflectEncode(t, st, arrays)
			got, n, err := codecDecode(b, reflect.TypeFor[Status]())
			if err != nil || n != len(b) || !reflect.DeepEqual(got, st) {
				t.Errorf("arrays=%v: %v, read %d of %d\n got %+v\nwant %+v", arrays, err, n, len(b), got, st)
			}
		}
	}
}
