package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// resolveNode is a fake participant that answers Resolve with answer.
type resolveNode struct {
	fakeClient
	answer func(txid string, commit bool) (*wire.ResolveResult, error)
	calls  *[]string
}

func (c *resolveNode) Resolve(_ context.Context, txid string, commit, force bool) (*wire.ResolveResult, error) {
	call := fmt.Sprintf("%s %v", txid, commit)
	if force {
		call += " forced"
	}
	*c.calls = append(*c.calls, call)
	return c.answer(txid, commit)
}

// resolveDial serves one participant B at b:1, holding TX1 in doubt with
// no other member and its coordinator gone, and records its Resolve calls.
func resolveDial(role wire.Role, answer func(string, bool) (*wire.ResolveResult, error)) (dialFunc, *[]string) {
	var calls []string
	n := &fakeNode{hello: wire.HelloAck{Version: wire.Version, NodeID: "B", Role: role}}
	n.status = func(context.Context) (*wire.Status, error) {
		return &wire.Status{NodeID: "B", Role: role, Transactions: []wire.TxStatus{{TxID: "TX1", Protocol: wire.TwoPC, State: wire.StateReady,
			Doubt: &wire.TxDoubt{Coord: "COORD", CoordAddr: "c:9", Members: []wire.Member{{ID: "B", Addr: "b:1"}}}}}}, nil
	}
	return func(ctx context.Context, addr string) (client, error) {
		if addr != "b:1" {
			return nil, fmt.Errorf("wire: dial %s: connect: connection refused", addr)
		}
		return &resolveNode{fakeClient: fakeClient{n}, answer: answer, calls: &calls}, nil
	}, &calls
}

func applied(txid string, commit bool) (*wire.ResolveResult, error) {
	st := wire.StateAborted
	if commit {
		st = wire.StateCommitted
	}
	return &wire.ResolveResult{TxID: txid, State: st, Applied: true, Heuristic: true, Reason: "heuristic by an operator"}, nil
}

// txcliIn runs txcli with a person (tty) or a pipe (not) on stdin.
func txcliIn(t *testing.T, dial dialFunc, in string, tty bool, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx := withStdin(context.Background(), strings.NewReader(in), tty)
	code := runWith(ctx, append([]string{"txcli"}, args...), streams{out: &out, err: &errOut}, dial)
	return result{code, out.String(), errOut.String()}
}

func TestResolveUsage(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"resolve", "--yes", "TX1", "commit"}, "resolve needs --participant ADDR or --endpoints"},
		{[]string{"--coord", "c:1", "resolve", "--yes", "TX1", "commit"}, "resolve needs --participant ADDR or --endpoints"},
		{[]string{"--participant", "b:1", "resolve", "--yes", "TX1"}, "got 1 arguments"},
		{[]string{"--participant", "b:1", "resolve", "--yes", "TX1", "commit", "now"}, "got 3 arguments"},
		{[]string{"--participant", "b:1", "resolve", "--yes", "TX1", "commited"}, `outcome "commited" is neither commit nor abort`},
		{[]string{"--participant", "b:1", "resolve", "--yes", "bad/id", "commit"}, "transaction id"},
		{[]string{"--participant", "b:1", "resolve", "TX1", "commit", "--yes"}, "flags such as --yes go before the transaction id"},
		{[]string{"--participant", "nohost", "resolve", "--yes", "TX1", "commit"}, "--participant"},
	}
	for _, tc := range cases {
		r := txcliIn(t, noDial(t), "yes\n", false, tc.args...)
		if r.code != exitError || !strings.Contains(r.errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.errOut, tc.want)
		}
	}
	// Without --yes and without a terminal: not confirmed, exit 1 as
	// documented, before any node is asked.
	r := txcliIn(t, noDial(t), "yes\n", false, "--participant", "b:1", "resolve", "TX1", "commit")
	if r.code != exitAborted || !strings.Contains(r.errOut, "stdin is not a terminal, so pass --yes") {
		t.Errorf("no --yes on a pipe: exit %d, stderr %q; want 1", r.code, r.errOut)
	}
}

func TestResolveConfirmation(t *testing.T) {
	clearEnv(t)
	dial, calls := resolveDial(wire.RoleParticipant, applied)
	// Declined on a terminal: exit 1, nothing sent.
	r := txcliIn(t, dial, "no\n", true, "--participant", "b:1", "resolve", "TX1", "abort")
	if r.code != exitAborted || !strings.Contains(r.errOut, "WARNING: heuristic decision") ||
		!strings.Contains(r.errOut, `Type "yes" to ABORT TX1 on b:1`) || !strings.Contains(r.errOut, "not confirmed; nothing was done") || len(*calls) != 0 {
		t.Fatalf("declined: exit %d, stderr %q, calls %q", r.code, r.errOut, *calls)
	}
	r = txcliIn(t, dial, "", true, "--participant", "b:1", "resolve", "TX1", "abort") // EOF
	if r.code != exitAborted || len(*calls) != 0 {
		t.Fatalf("EOF: exit %d, stderr %q", r.code, r.errOut)
	}
	// Confirmed on a terminal.
	r = txcliIn(t, dial, "yes\n", true, "--participant", "b:1", "resolve", "TX1", "abort")
	if r.code != exitOK || r.out != "TX1 on participant B: ABORTED (heuristic: logged, locks released)\n" || len(*calls) != 1 || (*calls)[0] != "TX1 false" {
		t.Fatalf("confirmed: exit %d, stdout %q, stderr %q, calls %q", r.code, r.out, r.errOut, *calls)
	}
}

func TestResolveAnswers(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		name    string
		role    wire.Role
		answer  func(string, bool) (*wire.ResolveResult, error)
		code    int
		out     string // human stdout
		errWant string
		json    string
	}{
		{name: "applied", role: wire.RoleParticipant, answer: applied, code: exitOK,
			out: "TX1 on participant B: COMMITTED (heuristic: logged, locks released)\n",
			json: `{"id":"TX1","participant":"B","requested":"COMMIT","state":"COMMITTED","heuristic":true,"applied":true,"refused":false,"reason":"heuristic by an operator","forced":false,
				"members":[{"id":"B","addr":"b:1","reachable":true,"before":"READY","state":"COMMITTED","heuristic":true,"applied":true,"refused":false,"reason":"heuristic by an operator"}]}`},
		{name: "already", role: wire.RoleParticipant, code: exitOK,
			answer: func(string, bool) (*wire.ResolveResult, error) {
				return &wire.ResolveResult{State: wire.StateCommitted, Reason: "already COMMITTED here (by the protocol): nothing to do"}, nil
			},
			out: "TX1 on participant B: COMMITTED; nothing done (already COMMITTED here (by the protocol): nothing to do)\n",
			json: `{"id":"TX1","participant":"B","requested":"COMMIT","state":"COMMITTED","heuristic":false,"applied":false,"refused":false,"reason":"already COMMITTED here (by the protocol): nothing to do","forced":false,
				"members":[{"id":"B","addr":"b:1","reachable":true,"before":"READY","state":"COMMITTED","heuristic":false,"applied":false,"refused":false,"reason":"already COMMITTED here (by the protocol): nothing to do"}]}`},
		{name: "refused", role: wire.RoleParticipant, code: exitAborted,
			answer: func(string, bool) (*wire.ResolveResult, error) {
				return &wire.ResolveResult{State: wire.StateAborted, Refused: true, Reason: "already ABORTED here: cannot undo"}, nil
			},
			errWant: "txcli: participant B refused: already ABORTED here: cannot undo\n",
			json: `{"id":"TX1","participant":"B","requested":"COMMIT","state":"ABORTED","heuristic":false,"applied":false,"refused":true,"reason":"already ABORTED here: cannot undo","forced":false,
				"members":[{"id":"B","addr":"b:1","reachable":true,"before":"READY","state":"ABORTED","heuristic":false,"applied":false,"refused":true,"reason":"already ABORTED here: cannot undo"}]}`},
		{name: "remote error", role: wire.RoleParticipant, code: exitError,
			answer: func(string, bool) (*wire.ResolveResult, error) {
				return nil, &wire.RemoteError{Code: wire.ErrBadRequest, Msg: "only a client connection may send Resolve"}
			},
			errWant: "could not handle the request: only a client connection may send Resolve (bad_request) (nothing was done)",
			json: `{"id":"TX1","participant":"B","requested":"COMMIT","state":"READY","heuristic":false,"applied":false,"refused":false,"code":"bad_request","error":"participant at b:1 could not handle the request: only a client connection may send Resolve (bad_request) (nothing was done)","forced":false,
				"members":[{"id":"B","addr":"b:1","reachable":true,"before":"READY","state":"READY","heuristic":false,"applied":false,"refused":false,"code":"bad_request","error":"only a client connection may send Resolve (bad_request)"}]}`},
		{name: "lost", role: wire.RoleParticipant, code: exitError,
			answer: func(string, bool) (*wire.ResolveResult, error) {
				return nil, fmt.Errorf("%w: b:1: EOF", transport.ErrConnectionLost)
			},
			errWant: `whether TX1 was resolved is unknown; see "txcli --participant b:1 status"`},
		{name: "coordinator", role: wire.RoleCoordinator, code: exitError, answer: applied,
			errWant: "b:1 is coordinator B, not a participant (nothing was done)"},
	}
	for _, tc := range cases {
		for _, js := range []bool{false, true} {
			dial, calls := resolveDial(tc.role, tc.answer)
			args := []string{"--participant", "b:1", "resolve", "--yes", "TX1", "commit"}
			if js {
				args = append([]string{"--json"}, args...)
			}
			r := txcliIn(t, dial, "", false, args...)
			warned := strings.HasPrefix(r.errOut, "txcli: WARNING: heuristic decision: participant b:1 will COMMIT transaction TX1")
			if r.code != tc.code || warned != (tc.role != wire.RoleCoordinator) {
				t.Errorf("%s json=%v: exit %d, stderr %q", tc.name, js, r.code, r.errOut)
			}
			if tc.errWant != "" && !strings.Contains(r.errOut, tc.errWant) {
				t.Errorf("%s json=%v: stderr %q lacks %q", tc.name, js, r.errOut, tc.errWant)
			}
			switch {
			case js && tc.json != "":
				sameJSON(t, r.out, tc.json)
			case !js && r.out != tc.out:
				t.Errorf("%s: stdout %q, want %q", tc.name, r.out, tc.out)
			}
			if tc.role == wire.RoleCoordinator && len(*calls) != 0 {
				t.Errorf("resolve sent to a coordinator")
			}
		}
	}
}

func TestHeuristicStatusMarks(t *testing.T) {
	st := &wire.Status{NodeID: "B", Role: wire.RoleParticipant, Transactions: []wire.TxStatus{
		{TxID: "T1", Protocol: wire.TwoPC, State: wire.StateCommitted, Reason: "heuristic COMMIT by an operator", Heuristic: true},
		{TxID: "T2", Protocol: wire.TwoPC, State: wire.StateAborted, Reason: "heuristic damage: the coordinator C decided COMMIT", Heuristic: true, Damage: true},
		{TxID: "T3", Protocol: wire.TwoPC, State: wire.StateCommitted},
	}}
	var b bytes.Buffer
	writeParticipant(&b, st, "b:1")
	want := `participant B
STORE
  (empty)
TRANSACTIONS
  ID  PROTOCOL  STATE        REASON
  T1  2PC       COMMITTED+H  heuristic COMMIT by an operator
  T2  2PC       ABORTED+H!   heuristic damage: the coordinator C decided COMMIT
  T3  2PC       COMMITTED
  +H: heuristic: applied by an operator (txcli resolve), not by the protocol
  +H!: heuristic damage: an operator's outcome (txcli resolve) contradicts the decision; the transaction is not atomic
`
	if b.String() != want {
		t.Errorf("table\n%s\nwant\n%s", b.String(), want)
	}
	js, err := jsonString(toParticipantJSON(st))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, js, `{"id":"B","role":"participant","store":{},"keys":0,"key_bytes":0,"value_bytes":0,"store_truncated":false,"transactions":[
		{"id":"T1","protocol":"2PC","state":"COMMITTED","reason":"heuristic COMMIT by an operator","heuristic":true},
		{"id":"T2","protocol":"2PC","state":"ABORTED","reason":"heuristic damage: the coordinator C decided COMMIT","heuristic":true,"heuristic_damage":true},
		{"id":"T3","protocol":"2PC","state":"COMMITTED"}]}`)
}
