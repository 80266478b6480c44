package wire

import (
	"bufio"
	"bytes"
	"testing"
)

// benchFrame encodes m into a frame and decodes it again, b.N times: the
// per-message serialization cost a node pays on each side of a connection.
func benchFrame(b *testing.B, m Message) {
	var buf []byte
	var rd bytes.Reader
	r := bufio.NewReader(&rd)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendFrame(buf[:0], m); err != nil {
			b.Fatal(err)
		}
		rd.Reset(buf)
		r.Reset(&rd)
		if _, err := ReadFrame(r, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVoteCodec encodes and decodes one Vote frame.
func BenchmarkVoteCodec(b *testing.B) {
	benchFrame(b, &Vote{TxID: "tx-0123456789", From: "participant-1", Yes: true})
}

var benchOps = []Op{{Kind: OpAdd, Key: "balance", Delta: -100}}

// BenchmarkPrepareCodec is the largest hot message: ops and members.
func BenchmarkPrepareCodec(b *testing.B) {
	benchFrame(b, &Prepare{
		TxID: "tx-0123456789", Protocol: TwoPC,
		Ops: []Op{
			{Kind: OpAdd, Key: "balance", Delta: -100},
			{Kind: OpSet, Key: "owner", Value: "alice"},
		},
		Coord: "COORD", CoordAddr: "127.0.0.1:7000",
		Members: []Member{{ID: "B", Addr: "127.0.0.1:7001"}, {ID: "C", Addr: "127.0.0.1:7002"}},
	})
}

// BenchmarkStartCodec is the client's request with one op.
func BenchmarkStartCodec(b *testing.B) {
	benchFrame(b, &Start{ReqID: 12345, TxID: "tx-0123456789", Protocol: TwoPC, Ops: benchOps})
}

// BenchmarkAckCodec is the smallest hot message.
func BenchmarkAckCodec(b *testing.B) {
	benchFrame(b, &Ack{TxID: "tx-0123456789", From: "participant-1", State: StateCommitted})
}
