package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// garbageKind is one way of abusing a node's port.
type garbageKind int

const (
	garbageRandom      garbageKind = iota // random bytes, no handshake
	garbageHTTP                           // an HTTP GET
	garbageOversize                       // a length prefix far over the frame limit
	garbageHalfHello                      // a frame header promising a big Hello, a few bytes of it, then silence
	garbageHelloRandom                    // a valid Hello, then random bytes
	garbageHelloHalf                      // a valid Hello, then half of a big frame and silence
	garbageHold                           // connect and say nothing
	garbageVersion                        // a Hello of an unknown protocol version
	garbageKinds
)

func (k garbageKind) String() string {
	return [...]string{"random", "HTTP", "oversize", "half Hello", "Hello+random", "Hello+half frame", "hold", "bad version"}[k]
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading VmRSS of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS of pid %d: %q: %v", pid, line, err)
			}
			return kb
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// openFDs counts a process's open file descriptors (its sockets included).
func openFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// attack opens one garbage connection of kind k to addr, sends its bytes,
// and waits (at most hold) for the node to hang up. It reports whether the
// node closed the connection; an error only when it could not connect.
func attack(addr string, k garbageKind, rng *rand.Rand, hold time.Duration) (closed bool, err error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(hold))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	hello := func() bool {
		b, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "garbage", Role: wire.RoleClient})
		if _, err := nc.Write(b); err != nil {
			return false
		}
		// The HelloAck: read it off so that what follows is judged by the
		// connection's reader, not the handshake.
		m, err := wire.ReadFrame(bufio.NewReaderSize(nc, 16), 0)
		return err == nil && m.Type() == wire.TypeHelloAck
	}
	// Half of a frame just under the limit: the node must not allocate what
	// it promises, and must drop it once the frame deadline passes.
	half := binary.BigEndian.AppendUint32(nil, uint32(wire.DefaultMaxFrame))
	half = append(half, byte(wire.TypeStatusReq))
	half = append(half, random(100)...)

	var payload []byte
	switch k {
	case garbageRandom:
		payload = random(1 + rng.IntN(8192))
	case garbageHTTP:
		payload = []byte("GET / HTTP/1.1\r\nHost: txd\r\nUser-Agent: hostile\r\n\r\n")
	case garbageOversize:
		payload = binary.BigEndian.AppendUint32(nil, uint32(wire.DefaultMaxFrame+1+rng.IntN(1<<30)))
	case garbageHalfHello:
		payload = half
	case garbageHelloRandom:
		if !hello() {
			return true, nil // refused in the handshake: closed by the node
		}
		payload = random(1 + rng.IntN(8192))
	case garbageHelloHalf:
		if !hello() {
			return true, nil
		}
		payload = half
	case garbageHold:
	case garbageVersion:
		payload, _ = wire.AppendFrame(nil, &wire.Hello{Version: wire.Version + 1 + uint16(rng.UintN(1000)), NodeID: "future", Role: wire.RoleParticipant})
	}
	// A write may fail because the node already hung up: that is the point.
	nc.Write(payload) //nolint:errcheck
	_, rerr := io.Copy(io.Discard, nc)
	if ne, ok := rerr.(net.Error); ok && ne.Timeout() {
		return false, nil
	}
	return true, nil // EOF or a reset: the node closed it
}

// 13. 500 concurrent garbage connections (eight kinds) against the coordinator and 500
// against a participant, all at once, while a client keeps committing: the
// transactions keep committing, the nodes' memory stays bounded and every
// garbage connection is closed by the node (the handshake deadline, the
// frame deadline and the frame checks see to each kind).
func TestGarbageFlood(t *testing.T) {
	const (
		perNode = 500
		// rssBound is what the flood may add to a node's resident memory.
		// A handshaking connection costs a goroutine and a read buffer
		// (~40 KiB), an established one about 100 KiB with its write side;
		// 500 of each would be ~70 MiB if the node kept them all, and the
		// half frames alone would be 500 MiB if it allocated what they
		// promise. 64 MiB says it does neither.
		rssBound = 64 << 10 // KiB
		// hold bounds how long an attacker waits to be hung up on: the
		// slowest kind (half a frame after a handshake) is cut by the
		// 10 s frame deadline.
		hold = 20 * time.Second
	)
	c := startCluster(t, cluster.Config{})
	part := c.Part("B")
	targets := []*cluster.Node{c.Coord, part}
	cl := dial(t, c)

	// A baseline with some traffic behind it, so that the heap the
	// transactions need anyway is not counted against the flood.
	for i := range 50 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := cl.Start(ctx, fmt.Sprintf("warm%d", i), wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: fmt.Sprintf("w%d", i), Value: "1"}})
		cancel()
		if err != nil || res.Outcome != wire.StateCommitted {
			t.Fatalf("warm-up transaction %d: %+v %v", i, res, err)
		}
	}
	before := map[*cluster.Node]int64{}
	peak := map[*cluster.Node]int64{}
	fds := map[*cluster.Node]int{}
	for _, n := range targets {
		before[n] = rssKiB(t, n.Pid())
		f, err := openFDs(n.Pid())
		if err != nil {
			t.Fatal(err)
		}
		fds[n] = f
	}

	// The client commits throughout, on its own established connection.
	stop := make(chan struct{})
	var committed, aborted, failed atomic.Int64
	var firstErr atomic.Value
	var clientDone sync.WaitGroup
	clientDone.Add(1)
	go func() {
		defer clientDone.Done()
		// Paced (at most 200/s), not flat out: the tests around this one
		// share the machine, and progress is the point, not throughput.
		pace := time.NewTicker(5 * time.Millisecond)
		defer pace.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-pace.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			// A key of its own: a key stays locked until the participant
			// hears COMMIT, just after the client hears the outcome.
			res, err := cl.Start(ctx, fmt.Sprintf("flood%d", i), wire.TwoPC, []wire.Op{{Kind: wire.OpSet, Key: fmt.Sprintf("f%d", i), Value: "1"}})
			cancel()
			switch {
			case err == nil && res.Outcome == wire.StateCommitted:
				committed.Add(1)
				continue
			case err == nil:
				// A vote that missed the coordinator's 1 s timeout on a
				// starved machine: slowness, not damage. Counted.
				aborted.Add(1)
				continue
			}
			failed.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %+v %v", fmt.Sprintf("flood%d", i), res, err))
		}
	}()

	seed := uint64(time.Now().UnixNano())
	t.Logf("garbage seeded with %d", seed)
	type result struct {
		node   *cluster.Node
		kind   garbageKind
		closed bool
		err    error
	}
	results := make(chan result, perNode*len(targets))
	start := time.Now()
	for ti, n := range targets {
		for i := range perNode {
			go func() {
				rng := rand.New(rand.NewPCG(seed, uint64(ti*perNode+i)))
				k := garbageKind(i % int(garbageKinds))
				closed, err := attack(n.Addr(), k, rng, hold)
				results <- result{n, k, closed, err}
			}()
		}
	}

	// Sample memory while the flood lasts; count every garbage connection
	// as the node hangs up on it.
	var lateKinds []string
	// Commits in the first two seconds, while all 1000 connections arrive
	// and most are refused: the densest part of the flood.
	early := int64(-1)
	closedBy := map[*cluster.Node]int{}
	var commitsAtEnd int64
	sample := time.NewTicker(50 * time.Millisecond)
	for got := 0; got < perNode*len(targets); {
		select {
		case r := <-results:
			got++
			switch {
			case r.err != nil:
				t.Errorf("%s %s: %s: %v", r.node.Role, r.node.ID, r.kind, r.err)
			case !r.closed:
				lateKinds = append(lateKinds, fmt.Sprintf("%s %s: %s", r.node.Role, r.node.ID, r.kind))
			default:
				closedBy[r.node]++
			}
		case <-sample.C:
			for _, n := range targets {
				peak[n] = max(peak[n], rssKiB(t, n.Pid()))
			}
			if early < 0 && time.Since(start) >= 2*time.Second {
				early = committed.Load()
			}
		}
	}
	sample.Stop()
	flood := time.Since(start)
	commitsAtEnd = committed.Load()
	close(stop)
	clientDone.Wait()

	if len(lateKinds) > 0 {
		t.Errorf("%d garbage connections still open after %v: %v", len(lateKinds), hold, lateKinds)
	}
	// The node's side too: its descriptors come back to where they were.
	for _, n := range targets {
		cluster.Eventually(t, waitTimeout, fmt.Sprintf("%s %s closes its sockets", n.Role, n.ID), func() error {
			f, err := openFDs(n.Pid())
			if err != nil {
				return err
			}
			if f > fds[n] {
				return fmt.Errorf("%d descriptors open, %d before the flood", f, fds[n])
			}
			return nil
		})
	}
	for _, n := range targets {
		after := rssKiB(t, n.Pid())
		t.Logf("%s %s: VmRSS before %d KiB, peak during %d KiB (+%d KiB), after %d KiB; %d/%d garbage connections closed by it",
			n.Role, n.ID, before[n], peak[n], peak[n]-before[n], after, closedBy[n], perNode)
		if grew := peak[n] - before[n]; grew > rssBound {
			t.Errorf("%s %s: VmRSS grew by %d KiB under the flood, bound %d KiB", n.Role, n.ID, grew, rssBound)
		}
	}
	t.Logf("flood over in %v: %d transactions committed during it (%d in its first 2 s), %d aborted, %d failed",
		flood.Round(time.Millisecond), commitsAtEnd, early, aborted.Load(), failed.Load())
	if commitsAtEnd < 50 || early < 10 {
		t.Errorf("only %d transactions committed during the flood, %d in its first 2 s", commitsAtEnd, early)
	}
	if failed.Load() > 0 {
		t.Errorf("%d transactions failed during the flood; first: %v", failed.Load(), firstErr.Load())
	}
	for _, n := range c.Nodes() {
		if !n.Running() {
			t.Fatalf("%s %s died", n.Role, n.ID)
		}
		if lines := n.LogLines("panic"); len(lines) > 0 {
			t.Errorf("%s %s logged a panic: %s", n.Role, n.ID, strings.Join(lines, "\n"))
		}
	}
	// And the nodes still take new connections (txcli), and B applied what
	// was committed.
	want := 50 + int(committed.Load()) // the warm-up's keys and the flood's
	waitPart(t, c, "B", "every committed key applied", func(p cluster.ParticipantOut) error {
		if p.Keys != want {
			return fmt.Errorf("%d keys, want %d", p.Keys, want)
		}
		return nil
	})
}
