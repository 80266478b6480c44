package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/txd/txd/wire"
)

// clearEnv unsets txcli's environment variables for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"TXCLI_COORD", "TXCLI_PARTICIPANT", "TXCLI_ENDPOINTS", "TXCLI_JSON", "TXCLI_TIMEOUT"} {
		t.Setenv(k, "") // restores the old value after the test
		os.Unsetenv(k)
	}
}

type result struct {
	code        int
	out, errOut string
}

// txcli runs txcli in-process with args (without the program name).
func txcli(t *testing.T, dial dialFunc, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runWith(context.Background(), append([]string{"txcli"}, args...), streams{out: &out, err: &errOut}, dial)
	return result{code, out.String(), errOut.String()}
}

// noDial fails the test if txcli tries to reach a node.
func noDial(t *testing.T) dialFunc {
	return func(ctx context.Context, addr string) (client, error) {
		t.Errorf("unexpected dial %s", addr)
		return nil, errors.New("no dialing in this test")
	}
}

// fakeNode answers like a txd node.
type fakeNode struct {
	hello  wire.HelloAck
	start  func(ctx context.Context, txid string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error)
	status func(ctx context.Context) (*wire.Status, error)
	trace  func(ctx context.Context, txid string) (*wire.Trace, error)
	scan   func(ctx context.Context, prefix, after string, limit int) (*wire.ScanResult, error)
}

// fakeCluster maps addresses to nodes; other addresses refuse connections.
type fakeCluster struct {
	mu     sync.Mutex
	nodes  map[string]*fakeNode
	dialed []string
}

func (f *fakeCluster) dial(ctx context.Context, addr string) (client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, addr)
	n, ok := f.nodes[addr]
	if !ok {
		return nil, fmt.Errorf("wire: dial %s: connect: connection refused", addr)
	}
	return &fakeClient{n}, nil
}

type fakeClient struct{ n *fakeNode }

func (c *fakeClient) Remote() wire.HelloAck { return c.n.hello }
func (c *fakeClient) Close() error          { return nil }
func (c *fakeClient) Start(ctx context.Context, txid string, proto wire.Protocol, ops []wire.Op) (*wire.StartResult, error) {
	if c.n.start == nil {
		return nil, &wire.RemoteError{Code: wire.ErrBadRequest, Msg: "not a coordinator"}
	}
	return c.n.start(ctx, txid, proto, ops)
}
func (c *fakeClient) Status(ctx context.Context) (*wire.Status, error) { return c.n.status(ctx) }
func (c *fakeClient) Trace(ctx context.Context, txid string) (*wire.Trace, error) {
	if c.n.trace == nil {
		return nil, &wire.RemoteError{Code: wire.ErrBadRequest, Msg: "no traces here"}
	}
	return c.n.trace(ctx, txid)
}

func (c *fakeClient) Get(ctx context.Context, keys []string) ([]wire.GetEntry, error) {
	return nil, &wire.RemoteError{Code: wire.ErrBadRequest, Msg: "no get here"}
}
func (c *fakeClient) Scan(ctx context.Context, prefix, after string, limit int) (*wire.ScanResult, error) {
	if c.n.scan == nil {
		return nil, &wire.RemoteError{Code: wire.ErrBadRequest, Msg: "no scan here"}
	}
	return c.n.scan(ctx, prefix, after, limit)
}

func coordHello() wire.HelloAck {
	return wire.HelloAck{Version: wire.Version, NodeID: "COORD", Role: wire.RoleCoordinator}
}

// decodeJSON parses out as one JSON object.
func decodeJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON value:\n%s", out)
	}
	return m
}

// sameJSON compares out with the JSON want, ignoring formatting.
func sameJSON(t *testing.T, out, want string) {
	t.Helper()
	got := decodeJSON(t, out)
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("JSON\n got %s\nwant %s", gb, wb)
	}
}

// oneErrLine checks that stderr is exactly one "txcli: " line containing want.
func oneErrLine(t *testing.T, r result, want string) {
	t.Helper()
	if !strings.HasPrefix(r.errOut, "txcli: ") || strings.Count(r.errOut, "\n") != 1 || !strings.HasSuffix(r.errOut, "\n") {
		t.Errorf("stderr is not one \"txcli: \" line: %q", r.errOut)
	}
	if !strings.Contains(r.errOut, want) {
		t.Errorf("stderr %q does not contain %q", r.errOut, want)
	}
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
