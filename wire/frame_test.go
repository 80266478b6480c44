package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"
)

// samples holds one fully populated message of every type.
func samples() []Message {
	ops := []Op{
		{Target: "B", Kind: OpAdd, Key: "balance", Delta: -100},
		{Kind: OpSet, Key: "k", Value: "v"},
		{Target: "C", Kind: OpDel, Key: "gone"},
	}
	members := []Member{{ID: "A", Addr: "127.0.0.1:7001"}, {ID: "B", Addr: "10.0.0.2:7002"}}
	return []Message{
		&Hello{Version: Version, NodeID: "A", Role: RoleParticipant},
		&HelloAck{Version: Version, NodeID: "coord", Role: RoleCoordinator},
		&Error{ReqID: 7, Code: ErrBusy, Msg: "too many transactions"},
		&Start{ReqID: 1 << 40, TxID: "tx-1", Protocol: ThreePC, Ops: ops},
		&StartResult{ReqID: 9, TxID: "tx-1", Protocol: TwoPC, Outcome: StateAborted, Reason: "B voted NO"},
		&StatusReq{ReqID: 3},
		&Status{
			ReqID: 4, NodeID: "coord", Role: RoleCoordinator,
			Store:        map[string]string{"balance": "900", "k": "v"},
			Participants: []PeerStatus{{ID: "A", Addr: "h:1", Connected: true}, {ID: "B", Addr: "h:2"}},
			Transactions: []TxStatus{{
				TxID: "tx-1", Protocol: ThreePC, State: StatePrecommitted, Reason: "waiting",
				Participants: map[string]State{"A": StateReady, "B": StateCommitted},
			}, {TxID: "tx-0", Protocol: TwoPC, State: StateCommitted, Reason: "heuristic damage", Heuristic: true, Damage: true}},
		},
		&Prepare{TxID: "tx-2", Protocol: ThreePC, Ops: ops, Coord: "coord", CoordAddr: "127.0.0.1:7000", Members: members},
		&Vote{TxID: "tx-2", From: "A", Yes: true, Reason: "ok"},
		&Decision{TxID: "tx-2", Commit: true, Reason: "all yes"},
		&Ack{TxID: "tx-2", From: "B", State: StateCommitted},
		&Query{TxID: "tx-3", From: "C"},
		&PreCommit{TxID: "tx-3"},
		&QueryReply{TxID: "tx-3", From: "A", State: StateAborted},
		&Forget{TxIDs: []string{"tx-1", "tx-2"}},
		&Resolve{ReqID: 8, TxID: "tx-4", Commit: true},
		&ResolveResult{ReqID: 8, TxID: "tx-4", State: StateCommitted, Applied: true, Heuristic: true, Reason: "resolved"},
		&TraceReq{ReqID: 5, TxID: "tx-4"},
		&Trace{ReqID: 5, NodeID: "B", Role: RoleParticipant, TxID: "tx-4", Since: 1700000000000000000, Protocol: TwoPC,
			Events: []TraceEvent{
				{Time: 1700000000000000100, Kind: TraceRecv, What: "PREPARE", Peer: "COORD"},
				{Time: 1700000000000000200, Kind: TraceForce, What: "PREPARED", FromLog: true},
				{Time: 1700000000000000300, Kind: TraceSend, What: "VOTE NO", Peer: "COORD", Detail: "balance would be -1"},
			}, Dropped: 2},
		&GetReq{ReqID: 10, Keys: []string{"balance", "gone"}},
		&GetResult{ReqID: 10, Entries: []GetEntry{{Key: "balance", Value: "900", Found: true}, {Key: "gone"}}},
		&ScanReq{ReqID: 11, Prefix: "bench/", After: "bench/1", Limit: 100},
		&ScanResult{ReqID: 11, Entries: []Entry{{Key: "bench/2", Value: "1"}, {Key: "bench/3", Value: ""}}, More: true},
	}
}

func TestSamplesCoverEveryType(t *testing.T) {
	seen := map[Type]bool{}
	for _, m := range samples() {
		seen[m.Type()] = true
	}
	for ty := Type(1); ty < TypeLimit; ty++ {
		if !seen[ty] {
			t.Errorf("no sample of %s", ty)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, want := range samples() {
		t.Run(want.Type().String(), func(t *testing.T) {
			b, err := AppendFrame([]byte("prefix"), want)
			if err != nil {
				t.Fatal(err)
			}
			if string(b[:6]) != "prefix" {
				t.Fatalf("AppendFrame clobbered dst: %q", b[:6])
			}
			b = b[6:]
			if n := binary.BigEndian.Uint32(b); int(n) != len(b)-4 {
				t.Fatalf("length %d, frame has %d bytes after it", n, len(b)-4)
			}
			if Type(b[4]) != want.Type() {
				t.Fatalf("type byte %d", b[4])
			}
			if err := CheckMsgpack(b[5:], frameDepth); err != nil {
				t.Fatalf("CheckMsgpack rejects our own encoding: %v", err)
			}
			got, err := ReadFrame(bufio.NewReader(bytes.NewReader(b)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v\nwant %#v", got, want)
			}
		})
	}
}

// TestStream reads back-to-back frames, small and larger than the reader's
// buffer (the in-place and the copying paths), then a clean io.EOF.
func TestStream(t *testing.T) {
	big := &Status{ReqID: 1, Store: map[string]string{}}
	for i := 0; i < 2000; i++ {
		big.Store[string(rune('a'+i%26))+string(rune(i))] = "some value here"
	}
	msgs := append(samples(), big, &Vote{TxID: "last"})
	var stream []byte
	for _, m := range msgs {
		var err error
		if stream, err = AppendFrame(stream, m); err != nil {
			t.Fatal(err)
		}
	}
	r := bufio.NewReaderSize(bytes.NewReader(stream), 64)
	for i, want := range msgs {
		got, err := ReadFrame(r, 0)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("frame %d: got %#v", i, got)
		}
	}
	if _, err := ReadFrame(r, 0); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestAppendFrameRejectsNil(t *testing.T) {
	if _, err := AppendFrame(nil, nil); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("err = %v", err)
	}
}

// frame builds a frame by hand: length, type byte, payload.
func frame(t Type, payload ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)))
	b = append(b, byte(t))
	return append(b, payload...)
}

func nested(n int) []byte {
	b := bytes.Repeat([]byte{0x91}, n)
	return append(b, 0xc0)
}

func TestReadFrameRejects(t *testing.T) {
	vote, _ := AppendFrame(nil, &Vote{TxID: "t", From: "A", Yes: true})
	trailing := append(binary.BigEndian.AppendUint32(nil, uint32(len(vote)-4+1)), vote[4:]...)
	trailing = append(trailing, 0xc0)

	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"length over max", []byte{0x00, 0x10, 0x00, 0x01, byte(TypeVote)}, ErrFrameTooLarge},
		{"length 4G", []byte{0xff, 0xff, 0xff, 0xff}, ErrFrameTooLarge},
		{"length zero", []byte{0, 0, 0, 0}, ErrMalformed},
		{"type 0", frame(0, 0x90), ErrUnknownType},
		{"type 200", frame(200, 0x90), ErrUnknownType},
		{"type just past the last", frame(TypeLimit, 0x90), ErrUnknownType},
		{"truncated header", []byte{0, 0}, ErrMalformed},
		{"truncated body", frame(TypeVote, 0x94, 0xa1, 'x')[:7], ErrMalformed},
		{"array32 bomb", frame(TypeStatus, 0xdd, 0xff, 0xff, 0xff, 0xff), ErrMalformed},
		{"bin32 bomb", frame(TypeStart, 0xc6, 0xff, 0xff, 0xff, 0xff), ErrMalformed},
		{"array16 bomb", frame(TypeStart, 0xdc, 0xff, 0xff), ErrMalformed},
		{"map32 bomb", frame(TypeStatus, 0xdf, 0xff, 0xff, 0xff, 0xff), ErrMalformed},
		{"str32 bomb", frame(TypeVote, 0xdb, 0xff, 0xff, 0xff, 0xff), ErrMalformed},
		{"ext32 bomb", frame(TypeVote, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01), ErrMalformed},
		// The bomb where it would hurt: Status.Participants, a slice.
		{"nested array32 bomb", frame(TypeStatus, 0x96, 0x01, 0xa1, 'c', 0xa1, 'c', 0x80, 0xdd, 0xff, 0xff, 0xff, 0xff), ErrMalformed},
		{"nested bin32 bomb", frame(TypeStart, 0x94, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff), ErrMalformed},
		{"deep nesting", frame(TypeStatus, nested(100_000)...), ErrMalformed},
		{"reserved 0xc1", frame(TypeVote, 0xc1), ErrMalformed},
		{"trailing garbage", trailing, ErrMalformed},
		{"wrong shape", frame(TypeVote, 0x94, 0x90, 0x90, 0x90, 0x90), ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ReadFrame(bufio.NewReader(bytes.NewReader(tc.in)), 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %v", m, err, tc.want)
			}
		})
	}
}

// TestOversizeRejectedBeforeAllocating: a frame declaring 1 GiB must cost
// nothing like it.
func TestOversizeRejectedBeforeAllocating(t *testing.T) {
	r := bufio.NewReader(bytes.NewReader([]byte{0x40, 0, 0, 0}))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(r, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatal(err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("%d bytes allocated to reject an oversize frame", n)
	}
}

func TestReadFrameMaxFrame(t *testing.T) {
	b, _ := AppendFrame(nil, &Vote{TxID: "0123456789"})
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(b)), len(b)-4); err != nil {
		t.Fatalf("a frame of exactly maxFrame: %v", err)
	}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(b)), len(b)-5); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("one byte over maxFrame: %v", err)
	}
}

// FuzzReadFrame: no input may panic, hang or allocate wildly, and whatever
// decodes must survive re-encoding.
func FuzzReadFrame(f *testing.F) {
	for _, m := range samples() {
		b, err := AppendFrame(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(frame(TypeStatus, 0xdd, 0xff, 0xff, 0xff, 0xff))
	f.Add(frame(TypeStart, 0xc6, 0xff, 0xff, 0xff, 0xff))
	f.Add(frame(TypeStart, 0xdc, 0xff, 0xff))
	f.Add(frame(TypeStatus, nested(40)...))
	f.Add(frame(TypeVote, 0xc1))
	f.Add(frame(TypeStatus, 0x86, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02, 0xc0, 0xc0))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadFrame(bufio.NewReader(bytes.NewReader(data)), 1<<16)
		if err != nil {
			return
		}
		b, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatalf("re-encoding %#v: %v", m, err)
		}
		if err := CheckMsgpack(b[5:], frameDepth); err != nil {
			t.Fatalf("CheckMsgpack rejects a re-encoding: %v", err)
		}
		m2, err := ReadFrame(bufio.NewReader(bytes.NewReader(b)), 0)
		if err != nil {
			t.Fatalf("decoding a re-encoding of %#v: %v", m, err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoding changed %#v into %#v", m, m2)
		}
	})
}
