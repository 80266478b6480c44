package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// readNode is participant B holding keys k00..k24 and "other", answering
// reads in pages of 4 entries: every command below crosses pages.
func readNode() *testNode {
	n := participantB()
	n.store = map[string]string{"other": "o"}
	for i := range 25 {
		n.store[fmt.Sprintf("k%02d", i)] = fmt.Sprint(i * i)
	}
	n.page = 4
	return n
}

func TestGetJSON(t *testing.T) {
	clearEnv(t)
	addr := serve(t, readNode())
	var keys []string
	for i := range 10 {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	r := txcli(t, dialWire, append([]string{"--participant", addr, "get", "--json"}, keys...)...)
	if r.code != exitOK || r.errOut != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
	sameJSON(t, r.out, `{"keys":{"k00":"0","k01":"1","k02":"4","k03":"9","k04":"16","k05":"25","k06":"36","k07":"49","k08":"64","k09":"81"},"missing":[]}`)

	// A missing key: the others printed, exit 1, the missing one named.
	r = txcli(t, dialWire, "--participant", addr, "--json", "get", "k03", "nope", "k04")
	if r.code != exitAborted {
		t.Fatalf("exit %d, want %d", r.code, exitAborted)
	}
	sameJSON(t, r.out, `{"keys":{"k03":"9","k04":"16"},"missing":["nope"]}`)
	oneErrLine(t, r, "not found on "+addr+": nope")
}

func TestGetHuman(t *testing.T) {
	clearEnv(t)
	addr := serve(t, readNode())
	r := txcli(t, dialWire, "--participant", addr, "get", "k10", "other", "gone")
	if r.code != exitAborted || r.out != "k10    100\nother  o\n" {
		t.Fatalf("exit %d, stdout\n%s", r.code, r.out)
	}
	oneErrLine(t, r, "not found on "+addr+": gone")
}

func TestScanJSON(t *testing.T) {
	clearEnv(t)
	node := readNode()
	addr := serve(t, node)
	// --limit 0: everything under the prefix, streamed over 7 pages.
	r := txcli(t, dialWire, "--participant", addr, "scan", "--json", "--prefix", "k", "--limit", "0")
	if r.code != exitOK || r.errOut != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
	}
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf(`{"key":"k%02d","value":"%d"}`, i, i*i))
	}
	if r.out != `{"keys":[`+strings.Join(want, ",")+`],"more":false}`+"\n" {
		t.Fatalf("stdout %s", r.out)
	}
	if n := node.scanCount(); n != 7 {
		t.Errorf("%d requests for 25 keys in pages of 4, want 7", n)
	}

	// A limit over a page, and going on from "next".
	r = txcli(t, dialWire, "--participant", addr, "scan", "--json", "--prefix", "k", "--limit", "6")
	sameJSON(t, r.out, `{"keys":[`+strings.Join(want[:6], ",")+`],"more":true,"next":"k05"}`)
	r = txcli(t, dialWire, "--participant", addr, "scan", "--json", "--after", "k22")
	sameJSON(t, r.out, `{"keys":[`+strings.Join(want[23:], ",")+`,{"key":"other","value":"o"}],"more":false}`)
	r = txcli(t, dialWire, "--participant", addr, "scan", "--json", "--prefix", "none/")
	if r.code != exitOK || r.out != `{"keys":[],"more":false}`+"\n" {
		t.Fatalf("empty scan: exit %d, stdout %s", r.code, r.out)
	}
}

func TestScanHuman(t *testing.T) {
	clearEnv(t)
	addr := serve(t, readNode())
	r := txcli(t, dialWire, "--participant", addr, "scan", "--prefix", "k1", "--limit", "3")
	if r.code != exitOK || r.out != "k10  100\nk11  121\nk12  144\n(more: go on with --after k12)\n" {
		t.Fatalf("exit %d, stdout\n%s", r.code, r.out)
	}
	r = txcli(t, dialWire, "--participant", addr, "scan", "--prefix", "x")
	if r.code != exitOK || r.out != "(no keys)\n" {
		t.Fatalf("exit %d, stdout\n%s", r.code, r.out)
	}
}

// TestReadErrors: unreachable, the wrong kind of node, bad arguments: exit
// 2 with one line, and with --json an object saying why.
func TestReadErrors(t *testing.T) {
	clearEnv(t)
	down := closedAddr(t)
	r := txcli(t, dialWire, "--participant", down, "--json", "scan")
	if r.code != exitError {
		t.Fatalf("unreachable: exit %d", r.code)
	}
	oneErrLine(t, r, "cannot reach participant at "+down)
	if m := decodeJSON(t, r.out); m["error"] == nil || len(m["keys"].([]any)) != 0 {
		t.Errorf("unreachable scan --json: %s", r.out)
	}
	r = txcli(t, dialWire, "--participant", down, "--json", "get", "k")
	if m := decodeJSON(t, r.out); r.code != exitError || m["error"] == nil {
		t.Errorf("unreachable get: exit %d, %s", r.code, r.out)
	}

	coord := serve(t, coordinator(wire.StateCommitted, ""))
	r = txcli(t, dialWire, "--participant", coord, "get", "k")
	if r.code != exitError {
		t.Fatalf("coordinator: exit %d", r.code)
	}
	oneErrLine(t, r, "is coordinator COORD, not a participant")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--coord", coord, "get", "k"}, "get needs --participant ADDR"},
		{[]string{"--participant", coord, "get"}, "get: no keys given"},
		{[]string{"--participant", coord, "get", strings.Repeat("k", wire.MaxKeyLen+1)}, "key longer than"},
		{[]string{"--participant", coord, "scan", "--limit", "-1"}, "--limit must be 0 (all) or positive"},
		{[]string{"--participant", coord, "scan", "k"}, "scan takes no arguments"},
	} {
		r := txcli(t, noDial(t), c.args...)
		if r.code != exitError {
			t.Errorf("%v: exit %d", c.args, r.code)
		}
		oneErrLine(t, r, c.want)
	}
}

// TestLargeStoreStatus: a participant whose store is too large for a
// status: the JSON says so (store empty, the summary), the table says how
// to read the keys.
func TestLargeStoreStatus(t *testing.T) {
	clearEnv(t)
	addr := serve(t, &testNode{
		self: wire.HelloAck{NodeID: "B", Role: wire.RoleParticipant},
		status: wire.Status{NodeID: "B", Role: wire.RoleParticipant, Keys: 40002, KeyBytes: 600000, ValueBytes: 3 << 20,
			StoreTruncated: true, Transactions: []wire.TxStatus{{TxID: "T3", Protocol: wire.TwoPC, State: wire.StateReady}}},
	})
	r := txcli(t, dialWire, "--participant", addr, "status", "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %s", r.code, r.errOut)
	}
	sameJSON(t, r.out, `{"id":"B","role":"participant","store":{},"keys":40002,"key_bytes":600000,"value_bytes":3145728,
		"store_truncated":true,"transactions":[{"id":"T3","protocol":"2PC","state":"READY"}]}`)
	r = txcli(t, dialWire, "--participant", addr, "status")
	want := `participant B
STORE
  40002 keys, 3.6 MiB of keys and values: too many to show here
  read them with: txcli --participant ` + addr + ` get KEY...  or  scan --prefix P --limit N
TRANSACTIONS
  ID  PROTOCOL  STATE
  T3  2PC       READY
  READY: voted yes, waiting for the outcome: blocked/in doubt
`
	if r.code != exitOK || r.out != want {
		t.Errorf("exit %d, stdout\n%s\nwant\n%s", r.code, r.out, want)
	}
}

// TestScanFailsPartWay: a scan whose connection is lost after a page
// exits 2, and its JSON still closes, with the keys read, where to go on
// and why it stopped.
func TestScanFailsPartWay(t *testing.T) {
	clearEnv(t)
	fc := &fakeCluster{nodes: map[string]*fakeNode{"b:1": {
		hello: wire.HelloAck{NodeID: "B", Role: wire.RoleParticipant},
		scan: func(ctx context.Context, prefix, after string, limit int) (*wire.ScanResult, error) {
			if after == "" {
				return &wire.ScanResult{Entries: []wire.Entry{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, More: true}, nil
			}
			return nil, fmt.Errorf("%w: b:1: EOF", transport.ErrConnectionLost)
		},
	}}}
	r := txcli(t, fc.dial, "--participant", "b:1", "scan", "--json", "--limit", "0")
	if r.code != exitError {
		t.Fatalf("exit %d", r.code)
	}
	sameJSON(t, r.out, `{"keys":[{"key":"a","value":"1"},{"key":"b","value":"2"}],"more":true,"next":"b",
		"error":"connection to participant at b:1 lost before its answer"}`)
	oneErrLine(t, r, "connection to participant at b:1 lost before its answer")

	r = txcli(t, fc.dial, "--participant", "b:1", "scan", "--limit", "0")
	if r.code != exitError || r.out != "a  1\nb  2\n" {
		t.Fatalf("exit %d, stdout %q", r.code, r.out)
	}
}
