package coordinator

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// A client cannot vote for a participant: B, which never votes, holds T1
// until the vote timeout aborts it, whatever YES a client sends in B's
// name (otherwise any client, a read-only one too, could commit or abort
// transactions it may not start).
func TestClientCannotVote(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	prepared := make(nodetest.ChanHandler, 16)
	fakeB := transport.NewServer(ln, transport.ServerConfig{Self: wire.HelloAck{NodeID: "B", Role: wire.RoleParticipant}, Handler: prepared})
	go fakeB.Serve()
	defer fakeB.Close()

	c, cl, ctx := startWithClient(t, 10*time.Second, "B="+ln.Addr().String())

	done := make(chan *wire.StartResult, 1)
	go func() {
		res, err := cl.Start(ctx, "T1", wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	for waiting := true; waiting; {
		select {
		case m := <-prepared:
			p, ok := m.(*wire.Prepare)
			waiting = !ok || p.TxID != "T1"
		case <-ctx.Done():
			t.Fatal("B got no PREPARE for T1")
		}
	}
	voter, err := transport.DialWith(ctx, c.Addr(), wire.Hello{NodeID: "B", Role: wire.RoleClient}, nil, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer voter.Close()
	if err := voter.Send(&wire.Vote{TxID: "T1", From: "B", Yes: true}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; res == nil || res.Outcome != wire.StateAborted {
		t.Fatalf("T1: %+v, want ABORTED (no vote from B)", res)
	}
}

// startWithClient starts a coordinator of participants (with a vote
// timeout of a second) and connects a client to it; both are closed, and
// ctx (limit long) cancelled, when the test ends.
func startWithClient(t *testing.T, limit time.Duration, participants ...string) (*Node, *transport.Client, context.Context) {
	t.Helper()
	c, err := Start(Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: participants,
		WAL: filepath.Join(t.TempDir(), "coord.wal"), Timeout: time.Second, Logger: nodetest.QuietLogger(),
		Fatal: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	cl, err := transport.DialClient(ctx, c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return c, cl, ctx
}
