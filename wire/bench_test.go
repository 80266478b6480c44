package wire

import (
	"context"
	"net"
	"testing"
)

// BenchmarkVoteCodec encodes and decodes one Vote frame.
func BenchmarkVoteCodec(b *testing.B) {
	benchFrame(b, &Vote{TxID: "tx-0123456789", From: "participant-1", Yes: true})
}

func benchServer(b *testing.B) *Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(ln, ServerConfig{Self: HelloAck{NodeID: "coord", Role: RoleCoordinator}, Handler: &echo{}})
	go s.Serve()
	b.Cleanup(func() { s.Close() })
	cl, err := DialClient(context.Background(), s.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	return cl
}

// echo answers every Start at once, and keeps nothing.
type echo struct{}

func (echo) HandleMessage(c *Conn, m Message) {
	if s, ok := m.(*Start); ok {
		c.Send(&StartResult{ReqID: s.ReqID, TxID: s.TxID, Protocol: s.Protocol, Outcome: StateCommitted})
	}
}
func (echo) HandleClose(*Conn, error) {}

var benchOps = []Op{{Kind: OpAdd, Key: "balance", Delta: -100}}

// BenchmarkRoundTrip is one request and its reply over loopback TCP, one
// at a time: the latency of the transport.
func BenchmarkRoundTrip(b *testing.B) {
	cl := benchServer(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cl.Start(ctx, "tx", TwoPC, benchOps); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTripParallel is many concurrent calls on one connection:
// its throughput, where write coalescing pays.
func BenchmarkRoundTripParallel(b *testing.B) {
	cl := benchServer(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cl.Start(ctx, "tx", TwoPC, benchOps); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
