package participant

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Only a client connection may send Resolve: a node that does (confused,
// or posing as a peer) is refused by the participant's policy (auth.go:
// "forbidden", connection closed) and changes nothing; a client is answered
// by the state machine.
func TestResolveOnlyFromClients(t *testing.T) {
	p, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(t.TempDir(), "B.wal"),
		Logger: nodetest.QuietLogger(), Fatal: func(err error) { t.Errorf("node stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for _, role := range []wire.Role{wire.RoleParticipant, wire.RoleCoordinator, wire.RoleClient} {
		h := make(nodetest.ChanHandler, 4)
		c, err := transport.DialWith(ctx, p.Addr(), wire.Hello{NodeID: "X", Role: role}, h, transport.DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Send(&wire.Resolve{ReqID: 5, TxID: "TX1", Commit: true}); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-h:
			switch m := m.(type) {
			case *wire.Error:
				if role == wire.RoleClient || m.Code != wire.ErrForbidden {
					t.Errorf("%s: %+v", role, m)
				}
			case *wire.ResolveResult:
				if role != wire.RoleClient || m.ReqID != 5 || !m.Refused {
					t.Errorf("%s: %+v", role, m)
				}
			default:
				t.Errorf("%s: answered %T", role, m)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no answer", role)
		}
		c.Close()
	}

	// A malformed id is a bad request, not a lookup.
	h := make(nodetest.ChanHandler, 4)
	c, err := transport.DialWith(ctx, p.Addr(), wire.Hello{NodeID: "X", Role: wire.RoleClient}, h, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Send(&wire.Resolve{ReqID: 6, TxID: "bad/id\n"}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-h:
		if e, ok := m.(*wire.Error); !ok || e.ReqID != 6 || e.Code != wire.ErrBadRequest {
			t.Errorf("malformed id: %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("malformed id: no answer")
	}
}
