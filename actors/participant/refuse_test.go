package participant

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// TestParticipantRefusesPeerDecision: a member's Decision, PreCommit or
// unasked QueryReply about a transaction whose coordinator is alive is
// answered with a "forbidden" Error and logged; the transaction stays READY
// and the member's connection stays open (its queries still get answers);
// the coordinator still decides.
func TestParticipantRefusesPeerDecision(t *testing.T) {
	var logs syncBuf
	p, err := Start(Config{NodeID: "C", Listen: "127.0.0.1:0", WAL: filepath.Join(t.TempDir(), "C.wal"),
		Timeout: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Coordinators: []string{"COORD"},
		Fatal: func(err error) { t.Errorf("node stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	cr := newRecorder()
	coord, err := transport.Dial(ctx, p.Addr(), wire.Hello{NodeID: "COORD", Role: wire.RoleCoordinator}, cr, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Close()
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		coord.Send(&wire.Prepare{TxID: "T-" + string(proto), Protocol: proto, Coord: "COORD", //nolint:errcheck
			Members: []wire.Member{{ID: "B", Addr: "127.0.0.1:1"}, {ID: "C"}},
			Ops:     []wire.Op{{Kind: wire.OpSet, Key: "k" + string(proto), Value: "v"}}})
		if v := next[*wire.Vote](t, cr); !v.Yes {
			t.Fatalf("vote %+v", v)
		}
	}
	br := newRecorder()
	b, err := transport.Dial(ctx, p.Addr(), wire.Hello{NodeID: "B", Role: wire.RoleParticipant}, br, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		tx := "T-" + string(proto)
		for _, m := range []wire.Message{
			&wire.Decision{TxID: tx, Reason: "B says so"},
			&wire.Decision{TxID: tx, Commit: true},
			&wire.PreCommit{TxID: tx},
			&wire.QueryReply{TxID: tx, From: "B", State: wire.StateAborted},
		} {
			if err := b.Send(m); err != nil {
				t.Fatal(err)
			}
			if e := next[*wire.Error](t, br); e.Code != wire.ErrForbidden {
				t.Fatalf("%s %s: %+v", tx, m.Type(), e)
			}
			if err := b.Send(&wire.Query{TxID: tx, From: "B"}); err != nil {
				t.Fatalf("%s %s: B's connection closed: %v", tx, m.Type(), err)
			}
			if r := next[*wire.QueryReply](t, br); r.State != wire.StateReady {
				t.Fatalf("%s after B's %s: %+v", tx, m.Type(), r)
			}
		}
	}
	select {
	case <-br.closed:
		t.Fatal("B's connection was closed")
	default:
	}
	if !strings.Contains(logs.String(), "refusing a peer's message") || !strings.Contains(logs.String(), "from=B") {
		t.Fatalf("no warning; log:\n%s", logs.String())
	}
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		coord.Send(&wire.Decision{TxID: "T-" + string(proto), Commit: true}) //nolint:errcheck
		if a := next[*wire.Ack](t, cr); a.State != wire.StateCommitted {
			t.Fatalf("ack %+v", a)
		}
	}
}
