package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// bombFrame is a whole frame within the size limit: a message of typ (an
// as_array struct of fields fields, all nil but field at) whose list at
// holds as many one-byte elements (elem) as fit. A Start's ops, a
// Prepare's ops, a Forget's ids: a million empty arrays or strings.
func bombFrame(typ wire.Type, fields, at int, elem byte) []byte {
	body := []byte{byte(typ), 0x90 | byte(fields)}
	for i := range fields {
		if i != at {
			body = append(body, 0xc0)
			continue
		}
		n := wire.DefaultMaxFrame - len(body) - 5 - (fields - 1 - i) // the array32 header, the nils after
		body = binary.BigEndian.AppendUint32(append(body, 0xdd), uint32(n))
		body = append(body, bytes.Repeat([]byte{elem}, n)...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// sendBomb handshakes as a client, sends frame and waits (at most hold)
// for the node to answer or hang up.
func sendBomb(addr string, frame []byte, hold time.Duration) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(hold))
	hello, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "bomber", Role: wire.RoleClient})
	if _, err := nc.Write(hello); err != nil {
		return err
	}
	br := bufio.NewReader(nc)
	if m, err := wire.ReadFrame(br, 0); err != nil || m.Type() != wire.TypeHelloAck {
		return fmt.Errorf("handshake: %v %v", m, err)
	}
	nc.Write(frame) //nolint:errcheck // the node may hang up at once: the point
	// An answer (an older node's "too many operations") or the close.
	wire.ReadFrame(br, 0) //nolint:errcheck
	return nil
}

// 14. Element-count bombs against real nodes: four 1 MiB Start frames of
// a million empty ops each to the coordinator, and Forget frames of a
// million ids and Prepare frames of a million ops to a participant, all at
// once. Each node refuses each frame before decoding its elements: its
// resident memory barely moves (it grew by about 300 MB a Start frame and
// 1.2 GB for four Forget frames before the limits), and transactions
// commit before, during and after.
func TestCountBombsOnNodes(t *testing.T) {
	// rssBound is what the bombs may add to a node's resident memory: the
	// frame bodies (1 MiB each, read before they are judged) and the
	// connections' buffers, with room for the GC's slack.
	const rssBound = 48 << 10 // KiB
	c := startCluster(t, cluster.Config{CoordTimeout: 5 * time.Second})
	cl := dial(t, c)
	start := func(id string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := cl.Start(ctx, id, wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: id, Value: "1"}})
		if err == nil && res.Outcome != wire.StateCommitted {
			err = fmt.Errorf("%s: %s (%s)", id, res.Outcome, res.Reason)
		}
		return err
	}
	for i := range 20 {
		if err := start(fmt.Sprintf("warm%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	part := c.Part("B")
	targets := []*cluster.Node{c.Coord, part}
	before := map[*cluster.Node]int64{}
	peak := map[*cluster.Node]int64{}
	for _, n := range targets {
		before[n] = rssKiB(t, n.Pid())
	}

	startBomb := bombFrame(wire.TypeStart, 4, 3, 0x90)
	forgetBomb := bombFrame(wire.TypeForget, 1, 0, 0xa0)
	prepareBomb := bombFrame(wire.TypePrepare, 6, 2, 0x90)
	attacks := []struct {
		node  *cluster.Node
		frame []byte
	}{
		{c.Coord, startBomb}, {c.Coord, startBomb}, {c.Coord, startBomb}, {c.Coord, startBomb},
		{part, forgetBomb}, {part, forgetBomb}, {part, prepareBomb}, {part, prepareBomb},
	}
	errs := make(chan error, len(attacks))
	var wg sync.WaitGroup
	for _, a := range attacks {
		wg.Go(func() { errs <- sendBomb(a.node.Addr(), a.frame, 5*time.Second) })
	}
	// A client commits while the bombs land.
	committed := make(chan error, 1)
	go func() {
		for i := range 10 {
			if err := start(fmt.Sprintf("during%d", i)); err != nil {
				committed <- err
				return
			}
		}
		committed <- nil
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	sample := time.NewTicker(10 * time.Millisecond)
	defer sample.Stop()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-sample.C:
		}
		for _, n := range targets {
			peak[n] = max(peak[n], rssKiB(t, n.Pid()))
		}
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := <-committed; err != nil {
		t.Errorf("a transaction during the bombs: %v", err)
	}
	for i := range 5 {
		if err := start(fmt.Sprintf("after%d", i)); err != nil {
			t.Errorf("after the bombs: %v", err)
		}
	}
	for _, n := range targets {
		t.Logf("%s %s: VmRSS %d KiB before, peak %d KiB (+%d KiB)", n.Role, n.ID, before[n], peak[n], peak[n]-before[n])
		if grew := peak[n] - before[n]; grew > rssBound {
			t.Errorf("%s %s: VmRSS grew by %d KiB under the bombs, bound %d KiB", n.Role, n.ID, grew, rssBound)
		}
		if !n.Running() {
			t.Fatalf("%s %s died", n.Role, n.ID)
		}
	}
}

// 15. A NO vote's reason is short wherever it goes: an ADD on a 64 KiB
// value (the largest there is) that is not a number aborts with a reason of at most 200 bytes at
// the client, in the coordinator's status, and in both WALs (it quoted the
// whole value: 300 such aborts grew the coordinator by 300 MB and each WAL
// by 60 MB).
func TestNoVoteReasonBounded(t *testing.T) {
	c := startCluster(t, cluster.Config{Participants: []string{"B"}})
	cl := dial(t, c)
	const word = "NOTANUMBER-"
	big := strings.Repeat(word, wire.MaxValueLen/len(word))
	run := func(id string, op wire.Op) *wire.StartResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := cl.Start(ctx, id, wire.TwoPC, []wire.Op{op})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return res
	}
	if res := run("setbig", wire.Op{Kind: wire.OpSet, Key: "k", Value: big}); res.Outcome != wire.StateCommitted {
		t.Fatalf("SET of a 64 KiB value: %+v", res)
	}
	// How often the value's text is in each WAL before the ADD.
	count := func(n *cluster.Node) int {
		b, err := os.ReadFile(n.WAL)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(b, []byte(word))
	}
	part := c.Part("B")
	before := map[*cluster.Node]int{c.Coord: count(c.Coord), part: count(part)}

	res := run("addbig", wire.Op{Kind: wire.OpAdd, Key: "k", Delta: 1})
	if res.Outcome != wire.StateAborted || !strings.Contains(res.Reason, "is not an integer") {
		t.Fatalf("ADD on a non-number: %+v", res)
	}
	if len(res.Reason) > wire.MaxReasonLen {
		t.Errorf("the client got a reason of %d bytes", len(res.Reason))
	}
	st := c.MustCoordStatus()
	tx, ok := st.Tx("addbig")
	if !ok || tx.State != "ABORTED" || len(tx.Reason) > wire.MaxReasonLen {
		t.Errorf("coordinator's status of addbig: %v, %d-byte reason %.80q", ok, len(tx.Reason), tx.Reason)
	}
	// The decision (forced) is in the coordinator's WAL already; the
	// participant's ABORT is logged lazily: wait for it.
	for _, n := range []*cluster.Node{c.Coord, part} {
		var grew int
		cluster.Eventually(t, waitTimeout, fmt.Sprintf("%s %s logs the abort", n.Role, n.ID), func() error {
			if grew = count(n) - before[n]; grew == 0 {
				return fmt.Errorf("no record quoting the value yet")
			}
			return nil
		})
		// A 200-byte reason quotes the value's start a few times; the
		// whole value would be about 6,000 of them.
		if grew > wire.MaxReasonLen/len(word) {
			t.Errorf("%s %s: its WAL gained %d copies of %q with the abort", n.Role, n.ID, grew, word)
		}
	}
}
