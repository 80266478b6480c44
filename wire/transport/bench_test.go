package transport

import (
	"context"
	"net"
	"testing"

	"github.com/txd/txd/wire"
)

func benchServer(b *testing.B) *Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(ln, ServerConfig{Self: wire.HelloAck{NodeID: "coord", Role: wire.RoleCoordinator}, Handler: &echo{}})
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

func (echo) HandleMessage(c *Conn, m wire.Message) {
	if s, ok := m.(*wire.Start); ok {
		c.Send(&wire.StartResult{ReqID: s.ReqID, TxID: s.TxID, Protocol: s.Protocol, Outcome: wire.StateCommitted})
	}
}
func (echo) HandleClose(*Conn, error) {}

var benchOps = []wire.Op{{Kind: wire.OpAdd, Key: "balance", Delta: -100}}

// BenchmarkRoundTrip is one request and its reply over loopback TCP, one
// at a time: the latency of the transport.
func BenchmarkRoundTrip(b *testing.B) {
	cl := benchServer(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cl.Start(ctx, "tx", wire.TwoPC, benchOps); err != nil {
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
			if _, err := cl.Start(ctx, "tx", wire.TwoPC, benchOps); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
