package protocol

import (
	"testing"

	"github.com/txd/txd/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// BenchmarkRecordCodec encodes and decodes a PREPARED record the way the
// WAL writer and replay do (msgpack.Marshal / Unmarshal of *Record).
func BenchmarkRecordCodec(b *testing.B) {
	rec := Record{
		Kind: RecPrepared, TxID: "tx-0123456789", Protocol: wire.TwoPC,
		Ops:   []wire.Op{{Kind: wire.OpAdd, Key: "balance", Delta: -100}},
		Coord: "COORD", CoordAddr: "127.0.0.1:7000",
		Members: []wire.Member{{ID: "B", Addr: "127.0.0.1:7001"}, {ID: "C", Addr: "127.0.0.1:7002"}},
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := msgpack.Marshal(&rec)
		if err != nil {
			b.Fatal(err)
		}
		var got Record
		if err := msgpack.Unmarshal(p, &got); err != nil {
			b.Fatal(err)
		}
	}
}
