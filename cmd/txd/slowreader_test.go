package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// clientHello handshakes a raw connection to addr as a client.
func clientHello(t *testing.T, addr, id string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	b, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: id, Role: wire.RoleClient})
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if m, err := wire.ReadFrame(bufio.NewReaderSize(nc, 16), 0); err != nil || m.Type() != wire.TypeHelloAck {
		t.Fatalf("handshake with %s: %v %v", addr, m, err)
	}
	nc.SetReadDeadline(time.Time{})
	return nc
}

// closedByNode reports whether the node has closed its end of nc, without
// reading from nc: our socket is then in CLOSE_WAIT, or gone from
// /proc/net/tcp if the node reset it (closing with our requests unread);
// or, while its FIN still waits behind replies we never read, the node's
// own socket is past ESTABLISHED (FIN_WAIT1 and after).
func closedByNode(nc net.Conn) (bool, error) {
	local := nc.LocalAddr().(*net.TCPAddr).Port
	remote := nc.RemoteAddr().(*net.TCPAddr).Port
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false, err
	}
	state := func(from, to int) (string, bool) {
		want := fmt.Sprintf(":%04X %s:%04X ", from, "0100007F", to)
		for line := range strings.Lines(string(b)) {
			if i := strings.Index(line, want); i >= 0 {
				if f := strings.Fields(line[i+len(want):]); len(f) > 0 {
					return f[0], true
				}
			}
		}
		return "", false
	}
	ours, ok := state(local, remote)
	if !ok || ours == "08" { // 08: TCP_CLOSE_WAIT
		return true, nil
	}
	theirs, ok := state(remote, local)
	// 04 FIN_WAIT1, 05 FIN_WAIT2, 06 TIME_WAIT, 09 LAST_ACK, 0B CLOSING
	return !ok || theirs == "04" || theirs == "05" || theirs == "06" || theirs == "09" || theirs == "0B", nil
}

// 14. A slow reader: one client connection to the coordinator and one to a
// participant each pipeline 4,000 StatusReq frames and never read, while a
// client keeps committing. Every commit succeeds within the vote timeout
// (status is served off the commit path), neither node's memory grows by
// the replies it would owe, and both connections are closed by the nodes.
func TestSlowStatusReader(t *testing.T) {
	const (
		pipelined = 4000
		rssBound  = 64 << 10 // KiB: 4,000 replies of ~100-400 KiB were gigabytes
		commits   = 50       // at least, after the attack began
	)
	c := startCluster(t, cluster.Config{})
	cl := dial(t, c)
	start := func(ctx context.Context, id string, ops ...wire.Op) (*wire.StartResult, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return cl.Start(ctx, id, wire.TwoPC, ops)
	}
	// Statuses worth owing: 1,000 finished transactions on the coordinator
	// (what its status shows at most), ~400 KiB of store on B.
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 1000; i += 32 {
				val := "1"
				if i < 20 {
					val = strings.Repeat("v", 20<<10)
				}
				res, err := start(context.Background(), "warm"+strconv.Itoa(i), wire.Op{Kind: wire.OpSet, Key: "w" + strconv.Itoa(i), Value: val})
				if err == nil && res.Outcome != wire.StateCommitted {
					err = fmt.Errorf("%s: %s %s", res.TxID, res.Outcome, res.Reason)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("warm-up: %v", err)
	}

	part := c.Part("B")
	targets := []*cluster.Node{c.Coord, part}
	before := map[*cluster.Node]int64{}
	peak := map[*cluster.Node]int64{}
	for _, n := range targets {
		before[n] = rssKiB(t, n.Pid())
	}
	var reqs []byte
	for i := range pipelined {
		reqs, _ = wire.AppendFrame(reqs, &wire.StatusReq{ReqID: uint64(i + 1)})
	}
	var slow []net.Conn
	for _, n := range targets {
		nc := clientHello(t, n.Addr(), "slow-reader")
		if closed, err := closedByNode(nc); closed || err != nil {
			t.Fatalf("a fresh connection looks closed: %v", err)
		}
		if _, err := nc.Write(reqs); err != nil {
			t.Fatalf("pipelining to %s: %v", n.ID, err)
		}
		slow = append(slow, nc)
	}
	attacked := time.Now()

	// Commit, one at a time, until both slow connections are closed and
	// enough commits went through; each must commit, which with the
	// coordinator's 1 s vote timeout means B and C voted in time.
	closed := make([]time.Duration, len(slow))
	for i := 0; ; i++ {
		t0 := time.Now()
		res, err := start(context.Background(), "during"+strconv.Itoa(i),
			wire.Op{Kind: wire.OpSet, Key: "d" + strconv.Itoa(i), Value: "1"})
		if err != nil || res.Outcome != wire.StateCommitted {
			t.Fatalf("commit %d during the attack (after %v): %+v %v", i, time.Since(t0).Round(time.Millisecond), res, err)
		}
		done := i+1 >= commits
		for j, nc := range slow {
			if closed[j] == 0 {
				ok, err := closedByNode(nc)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					closed[j] = time.Since(attacked)
				}
			}
			done = done && closed[j] > 0
		}
		for _, n := range targets {
			peak[n] = max(peak[n], rssKiB(t, n.Pid()))
		}
		if done {
			t.Logf("%d commits during the attack, in %v", i+1, time.Since(attacked).Round(time.Millisecond))
			break
		}
		// The write deadline (10 s) would close a connection that does not
		// read too; the point is that it is closed at once, not then.
		if time.Since(attacked) > 5*time.Second {
			t.Fatalf("slow connections not closed within 5 s (closed after: coordinator %v, B %v)", closed[0], closed[1])
		}
	}
	for i, n := range targets {
		t.Logf("%s %s: slow reader closed after %v; VmRSS before %d KiB, peak %d KiB (+%d KiB)",
			n.Role, n.ID, closed[i].Round(time.Millisecond), before[n], peak[n], peak[n]-before[n])
		if grew := peak[n] - before[n]; grew > rssBound {
			t.Errorf("%s %s: VmRSS grew by %d KiB under the slow reader, bound %d KiB", n.Role, n.ID, grew, rssBound)
		}
		if len(n.LogLines("without reading the replies")) == 0 {
			t.Errorf("%s %s did not log why it closed the slow reader", n.Role, n.ID)
		}
	}
	// Status still works for a client that reads.
	if _, err := c.CoordStatus(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PartStatus("B"); err != nil {
		t.Fatal(err)
	}
}
