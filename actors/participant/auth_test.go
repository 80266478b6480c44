package participant

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// fakeParties is one transaction, T1, prepared by COORD with members B and C.
type fakeParties struct{}

var t1Members = []wire.Member{{ID: "B"}, {ID: "C"}}

func (fakeParties) Parties(txid string) (string, []wire.Member, bool) {
	if txid == "T1" {
		return "COORD", t1Members, true
	}
	return "", nil, false
}

// TestPartPolicy: every rule of auth.go, both ways.
func TestPartPolicy(t *testing.T) {
	coord := wire.Hello{NodeID: "COORD", Role: wire.RoleCoordinator}
	other := wire.Hello{NodeID: "OTHER", Role: wire.RoleCoordinator}
	peerC := wire.Hello{NodeID: "C", Role: wire.RoleParticipant}
	peerD := wire.Hello{NodeID: "D", Role: wire.RoleParticipant} // known from another transaction
	stranger := wire.Hello{NodeID: "X", Role: wire.RoleParticipant}
	client := wire.Hello{NodeID: "txcli", Role: wire.RoleClient}
	noRole := wire.Hello{NodeID: "who"}
	prep := func(tx, c string) *wire.Prepare { return &wire.Prepare{TxID: tx, Coord: c} }

	cases := []struct {
		name   string
		coords []string
		from   wire.Hello
		msg    wire.Message
		ok     bool
	}{
		{"client status", nil, client, &wire.StatusReq{}, true},
		{"no role status", nil, noRole, &wire.StatusReq{}, true},
		{"client prepare", nil, client, prep("T2", "txcli"), false},
		{"client decision", nil, client, &wire.Decision{TxID: "T1", Commit: true}, false},
		{"client precommit", nil, client, &wire.PreCommit{TxID: "T1"}, false},
		{"client forget", nil, client, &wire.Forget{TxIDs: []string{"T1"}}, false},
		{"client query", nil, client, &wire.Query{TxID: "T1", From: "txcli"}, false},
		{"client start", nil, client, &wire.Start{TxID: "T9"}, false},
		{"no role prepare", nil, noRole, prep("T2", "who"), false},
		{"client get", nil, client, &wire.GetReq{Keys: []string{"k"}}, true},
		{"client scan", nil, client, &wire.ScanReq{Prefix: "k"}, true},
		{"no role get", nil, noRole, &wire.GetReq{Keys: []string{"k"}}, false},
		{"coordinator get", nil, coord, &wire.GetReq{Keys: []string{"k"}}, false},
		{"coordinator scan", nil, coord, &wire.ScanReq{}, false},
		{"member scan", nil, peerC, &wire.ScanReq{}, false},

		{"coordinator prepare", nil, coord, prep("T2", "COORD"), true},
		{"any coordinator when none named", nil, other, prep("T2", "OTHER"), true},
		{"named coordinator", []string{"COORD"}, coord, prep("T2", "COORD"), true},
		{"second named coordinator", []string{"COORD", "OTHER"}, other, prep("T2", "OTHER"), true},
		{"coordinator not named", []string{"COORD"}, other, prep("T2", "OTHER"), false},
		{"coordinator not named: status", []string{"COORD"}, other, &wire.StatusReq{}, true},
		{"coordinator not named: decision", []string{"COORD"}, other, &wire.Decision{TxID: "T2"}, false},
		{"prepare naming another coordinator", nil, coord, prep("T2", "OTHER"), false},
		{"coordinator decides its own", nil, coord, &wire.Decision{TxID: "T1", Commit: true}, true},
		{"coordinator decides another's", nil, other, &wire.Decision{TxID: "T1", Commit: true}, false},
		{"coordinator precommits another's", nil, other, &wire.PreCommit{TxID: "T1"}, false},
		{"coordinator re-prepares another's", nil, other, prep("T1", "OTHER"), false},
		{"coordinator aborts an unknown one", nil, coord, &wire.Decision{TxID: "T2"}, true},
		{"coordinator forget", nil, coord, &wire.Forget{TxIDs: []string{"T1"}}, true},
		{"coordinator query", nil, coord, &wire.Query{TxID: "T1", From: "COORD"}, true},
		{"coordinator query as someone else", nil, coord, &wire.Query{TxID: "T1", From: "C"}, false},
		{"coordinator reply", nil, coord, &wire.QueryReply{TxID: "T1", From: "COORD"}, true},
		{"coordinator sends a vote", nil, coord, &wire.Vote{TxID: "T1"}, false},

		{"member query", nil, peerC, &wire.Query{TxID: "T1", From: "C"}, true},
		{"member reply", nil, peerC, &wire.QueryReply{TxID: "T1", From: "C", State: wire.StateCommitted}, true},
		{"member decision (termination leader)", nil, peerC, &wire.Decision{TxID: "T1", Commit: true}, true},
		{"member precommit (termination leader)", nil, peerC, &wire.PreCommit{TxID: "T1"}, true},
		{"member reply as another member", nil, peerC, &wire.QueryReply{TxID: "T1", From: "B", State: wire.StateCommitted}, false},
		{"member prepare", nil, peerC, prep("T2", "C"), false},
		{"member forget", nil, peerC, &wire.Forget{TxIDs: []string{"T1"}}, false},
		{"non-member of a known transaction", nil, peerD, &wire.Decision{TxID: "T1", Commit: true}, false},
		{"known peer, unknown transaction", nil, peerD, &wire.Query{TxID: "T7", From: "D"}, true},
		{"stranger, unknown transaction", nil, stranger, &wire.Query{TxID: "T7", From: "X"}, false},
		{"stranger decision", nil, stranger, &wire.Decision{TxID: "T1", Commit: true}, false},
		{"stranger reply", nil, stranger, &wire.QueryReply{TxID: "T1", From: "X", State: wire.StateAborted}, false},
		{"posing as ourselves", nil, wire.Hello{NodeID: "B", Role: wire.RoleParticipant}, &wire.Query{TxID: "T1", From: "B"}, false},
		{"participant sends an ack", nil, peerC, &wire.Ack{TxID: "T1", From: "C"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPartPolicy("B", tc.coords)
			p.learn([]wire.Member{{ID: "B"}, {ID: "D"}})
			err := p.check(tc.from, tc.msg, fakeParties{})
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("%s %q may not send %s, but was let through", tc.from.Role, tc.from.NodeID, tc.msg.Type())
			}
		})
	}
}

// recorder collects what a dialed connection receives.
type recorder struct {
	got    chan wire.Message
	closed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{got: make(chan wire.Message, 64), closed: make(chan struct{})}
}

func (r *recorder) HandleMessage(_ *transport.Conn, m wire.Message) { r.got <- m }
func (r *recorder) HandleClose(*transport.Conn, error)              { close(r.closed) }

// next waits for a message of type T, skipping others.
func next[T wire.Message](t *testing.T, r *recorder) T {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-r.got:
			if v, ok := m.(T); ok {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T within 5s", zero)
			return zero
		}
	}
}

// syncBuf is a log destination tests can read while the node writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestParticipantRefusesWhoMayNotSpeak: a real participant (real TCP, real
// WAL) answers each forbidden message with a "forbidden" Error, closes that
// connection, logs who it was, and changes nothing; the messages a sender
// may send still work.
func TestParticipantRefusesWhoMayNotSpeak(t *testing.T) {
	var logs syncBuf
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	p, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(t.TempDir(), "B.wal"),
		Timeout: time.Minute, Logger: logger, Coordinators: []string{"COORD"},
		Fatal: func(err error) { t.Errorf("node stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	dial := func(id string, role wire.Role) (*transport.Conn, *recorder) {
		t.Helper()
		r := newRecorder()
		c, err := transport.Dial(ctx, p.Addr(), wire.Hello{NodeID: id, Role: role}, r, 0)
		if err != nil {
			t.Fatalf("%s %s: %v", role, id, err)
		}
		t.Cleanup(func() { c.Close() })
		return c, r
	}
	refused := func(id string, role wire.Role, m wire.Message) {
		t.Helper()
		c, r := dial(id, role)
		if err := c.Send(m); err != nil {
			t.Fatal(err)
		}
		e := next[*wire.Error](t, r)
		if e.Code != wire.ErrForbidden {
			t.Fatalf("%s %s sending %s: got %+v, want code %s", role, id, m.Type(), e, wire.ErrForbidden)
		}
		select {
		case <-r.closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s %s sending %s: refused but not closed", role, id, m.Type())
		}
		nodetest.WaitFor(t, 5*time.Second, func() bool {
			return strings.Contains(logs.String(), "claimed_id="+id) && strings.Contains(logs.String(), "type="+m.Type().String())
		})
	}
	members := []wire.Member{{ID: "B", Addr: p.Addr()}, {ID: "C", Addr: "127.0.0.1:1"}}
	prepare := func(tx, coord string) *wire.Prepare {
		return &wire.Prepare{TxID: tx, Protocol: wire.TwoPC, Coord: coord, Members: members,
			Ops: []wire.Op{{Kind: wire.OpSet, Key: "k" + tx, Value: "v"}}}
	}

	// A coordinator we do not accept is refused in the handshake.
	if _, err := transport.Dial(ctx, p.Addr(), wire.Hello{NodeID: "EVIL", Role: wire.RoleCoordinator}, nil, 0); !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), `does not accept coordinator "EVIL"`) {
		t.Fatalf("coordinator EVIL: %v", err)
	}
	refused("txcli", wire.RoleClient, prepare("T0", "txcli"))
	refused("txcli", wire.RoleClient, &wire.Decision{TxID: "T0", Commit: true})
	refused("txcli", wire.RoleClient, &wire.Start{TxID: "T0"})
	refused("X", wire.RoleParticipant, prepare("T0", "X"))
	refused("X", wire.RoleParticipant, &wire.Forget{TxIDs: []string{"T0"}})
	refused("X", wire.RoleParticipant, &wire.ScanReq{})
	refused("Y", wire.RoleParticipant, &wire.GetReq{Keys: []string{"k"}})
	// A stranger asking about a transaction we do not know must not make
	// us abort it (a peer's query about one never prepared here would).
	refused("X", wire.RoleParticipant, &wire.Query{TxID: "T0", From: "X"})

	// The coordinator prepares T1: accepted, voted YES.
	coord, cr := dial("COORD", wire.RoleCoordinator)
	if err := coord.Send(prepare("T1", "COORD")); err != nil {
		t.Fatal(err)
	}
	if v := next[*wire.Vote](t, cr); !v.Yes || v.TxID != "T1" {
		t.Fatalf("vote %+v", v)
	}
	// Nobody but its coordinator and members may speak for T1.
	refused("X", wire.RoleParticipant, &wire.Decision{TxID: "T1", Commit: true})
	refused("X", wire.RoleParticipant, &wire.QueryReply{TxID: "T1", From: "X", State: wire.StateCommitted})
	refused("C", wire.RoleParticipant, &wire.QueryReply{TxID: "T1", From: "D", State: wire.StateCommitted})
	// Member C may ask about it.
	cc, ccr := dial("C", wire.RoleParticipant)
	if err := cc.Send(&wire.Query{TxID: "T1", From: "C"}); err != nil {
		t.Fatal(err)
	}
	if r := next[*wire.QueryReply](t, ccr); r.State != wire.StateReady {
		t.Fatalf("C's query: %+v", r)
	}

	cl, err := transport.DialClient(ctx, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Store) != 0 || len(st.Transactions) != 1 || st.Transactions[0].TxID != "T1" || st.Transactions[0].State != wire.StateReady {
		t.Fatalf("after the refusals: store %v, transactions %+v; want only T1 READY", st.Store, st.Transactions)
	}
	// The coordinator's connection survived all that and still decides.
	if err := coord.Send(&wire.Decision{TxID: "T1", Commit: true}); err != nil {
		t.Fatal(err)
	}
	if a := next[*wire.Ack](t, cr); a.State != wire.StateCommitted {
		t.Fatalf("ack %+v", a)
	}
}

// TestParticipantAnyCoordinatorKeepsItsTransactions: with no --coordinator
// any coordinator id is accepted (with a warning), but a transaction still
// belongs to the coordinator that prepared it: another cannot decide it.
func TestParticipantAnyCoordinatorKeepsItsTransactions(t *testing.T) {
	var logs syncBuf
	p, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(t.TempDir(), "B.wal"),
		Timeout: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Fatal: func(err error) { t.Errorf("node stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !strings.Contains(logs.String(), "coordinator of any id") {
		t.Fatalf("no warning about accepting any coordinator; log:\n%s", logs.String())
	}
	ctx := context.Background()
	r := newRecorder()
	coord, err := transport.Dial(ctx, p.Addr(), wire.Hello{NodeID: "COORD", Role: wire.RoleCoordinator}, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Close()
	coord.Send(&wire.Prepare{TxID: "T1", Protocol: wire.TwoPC, Coord: "COORD", Members: []wire.Member{{ID: "B"}}, //nolint:errcheck
		Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}})
	if v := next[*wire.Vote](t, r); !v.Yes {
		t.Fatalf("vote %+v", v)
	}
	rr := newRecorder()
	rogue, err := transport.Dial(ctx, p.Addr(), wire.Hello{NodeID: "OTHER", Role: wire.RoleCoordinator}, rr, 0)
	if err != nil {
		t.Fatalf("with no --coordinator, any coordinator id connects: %v", err)
	}
	defer rogue.Close()
	rogue.Send(&wire.Decision{TxID: "T1", Commit: true}) //nolint:errcheck
	if e := next[*wire.Error](t, rr); e.Code != wire.ErrForbidden {
		t.Fatalf("got %+v", e)
	}
	cl, err := transport.DialClient(ctx, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Store) != 0 || len(st.Transactions) != 1 || st.Transactions[0].State != wire.StateReady {
		t.Fatalf("OTHER decided COORD's T1: store %v, transactions %+v", st.Store, st.Transactions)
	}
}

// TestParticipantCoordinatorProvenByTLS: with TLS the coordinator id is the
// certificate's: a member of the CA that is not COORD can neither claim
// COORD nor act as a coordinator under its own name.
func TestParticipantCoordinatorProvenByTLS(t *testing.T) {
	ids := nodetest.NewTLSIDs(t)
	p, err := Start(Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(t.TempDir(), "B.wal"),
		Timeout: time.Minute, Logger: nodetest.QuietLogger(), Coordinators: []string{"COORD"}, TLS: ids.ID(t, "B"),
		Fatal: func(err error) { t.Errorf("node stopped: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	mallory := ids.ID(t, "mallory")
	for claim, why := range map[string]string{"COORD": `presented a certificate for "mallory"`, "mallory": `does not accept coordinator "mallory"`} {
		_, err := transport.DialWith(ctx, p.Addr(), wire.Hello{NodeID: claim, Role: wire.RoleCoordinator}, nil, transport.DialOptions{TLS: mallory})
		if !errors.Is(err, wire.ErrHandshake) || !strings.Contains(err.Error(), why) {
			t.Fatalf("mallory's certificate, claiming coordinator %q: %v; want %q", claim, err, why)
		}
	}
	r := newRecorder()
	c, err := transport.DialWith(ctx, p.Addr(), wire.Hello{NodeID: "COORD", Role: wire.RoleCoordinator}, r, transport.DialOptions{TLS: ids.ID(t, "COORD")})
	if err != nil {
		t.Fatalf("the real COORD: %v", err)
	}
	defer c.Close()
	c.Send(&wire.Prepare{TxID: "T1", Protocol: wire.TwoPC, Coord: "COORD", Members: []wire.Member{{ID: "B"}}, //nolint:errcheck
		Ops: []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}})
	if v := next[*wire.Vote](t, r); !v.Yes {
		t.Fatalf("vote %+v", v)
	}
}

// BenchmarkPartPolicyCheck: what the check adds to each message on the hot
// path (a PREPARE and a COMMIT from the coordinator).
func BenchmarkPartPolicyCheck(b *testing.B) {
	p := newPartPolicy("B", []string{"COORD"})
	coord := wire.Hello{NodeID: "COORD", Role: wire.RoleCoordinator}
	prep := &wire.Prepare{TxID: "T2", Coord: "COORD"}
	dec := &wire.Decision{TxID: "T1", Commit: true}
	b.ReportAllocs()
	for b.Loop() {
		if p.check(coord, prep, fakeParties{}) != nil || p.check(coord, dec, fakeParties{}) != nil {
			b.Fatal("refused")
		}
	}
}
