package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// slowReader handshakes as a client with a tiny receive buffer (the node's
// replies cannot hide in the kernel), asks for one status and never reads.
func slowReader(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err == nil {
			err = serr
		}
		return err
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if m, err := handshakeAs(nc, "slow-reader"); err != nil || m.Type() != wire.TypeHelloAck {
		nc.Close()
		return nil, fmt.Errorf("slow reader's handshake: %v %v", m, err)
	}
	b, _ := wire.AppendFrame(nil, &wire.StatusReq{ReqID: 1})
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// nearlyWholeFrame handshakes as a client and sends a frame of the largest
// size but its last byte.
func nearlyWholeFrame(addr string) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if m, err := handshakeAs(nc, "big-frame"); err != nil || m.Type() != wire.TypeHelloAck {
		nc.Close()
		return nil, fmt.Errorf("big frame's handshake: %v %v", m, err)
	}
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(almostFrame); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

var almostFrame = func() []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(wire.DefaultMaxFrame))
	b = append(b, byte(wire.TypeStart))
	return append(b, make([]byte, wire.DefaultMaxFrame-2)...)
}()

// handshakeAs sends a client's Hello on nc and returns the node's answer:
// a HelloAck, or the Error that refused it.
func handshakeAs(nc net.Conn, id string) (wire.Message, error) {
	b, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: id, Role: wire.RoleClient})
	if _, err := nc.Write(b); err != nil {
		return nil, err
	}
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer nc.SetReadDeadline(time.Time{})
	return wire.ReadFrame(bufio.NewReaderSize(nc, 16), 0)
}

// mixBudget is the documented bound on what clients can make a node's
// resident memory grow by (wire/budget.go), in KiB: their live memory
// times the heap's growth between collections (txd's GOGC).
func mixBudget(maxClients int, send, read int64) int64 {
	return (1 + node.GCPercent/100) * transport.ClientMemoryBound(maxClients, send, read) >> 10
}

// 17. Everything at once, against the coordinator and a participant:
// element-count bombs, slow status readers on many connections (each owed
// a status of ~240 KiB, about the largest a participant sends), 1 MiB
// frames sent but for their last byte on 150 connections each, idle
// clients up to the client cap and past it, NO votes on a 60 KB value,
// garbage of every kind; meanwhile an honest
// client commits one transaction after another. Every one of its
// transactions commits, no node dies, and each node's resident memory
// grows by less than the documented bound for its limits (without the
// node-wide client budgets, the unfinished frames alone hold 150 MiB on
// each node).
func TestHostileMix(t *testing.T) {
	const (
		maxClients = 300
		sendBytes  = 8 << 20
		readBytes  = 4 << 20
		slowPer    = 60  // slow readers per node
		bigPer     = 150 // nearly whole 1 MiB frames per node
		idleOver   = 30  // idle clients tried past the cap
		commits    = 40  // honest commits at least, during the attack
	)
	rssBound := mixBudget(maxClients, sendBytes, readBytes)
	c := startClusterWith(t, cluster.Config{CoordTimeout: 5 * time.Second}, func(c *cluster.Cluster) {
		for _, n := range c.Nodes() {
			n.SetFlag("max-clients", strconv.Itoa(maxClients))
			n.SetFlag("client-send-bytes", strconv.Itoa(sendBytes))
			n.SetFlag("client-read-bytes", strconv.Itoa(readBytes))
		}
	})
	honest, noVoter := dial(t, c), dial(t, c)
	start := func(cl *transport.Client, id string, ops ...wire.Op) (*wire.StartResult, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return cl.Start(ctx, id, wire.TwoPC, ops)
	}
	// Statuses worth owing: ~240 KiB of store on each participant, just
	// under what a status carries whole (wire.MaxStatusInlineBytes), with
	// a 60 KB value that is not a number for the NO votes.
	for i := range 9 {
		res, err := start(honest, "warm"+strconv.Itoa(i), wire.Op{Kind: wire.OpSet, Key: "w" + strconv.Itoa(i), Value: strings.Repeat("v", 20<<10)})
		if err != nil || res.Outcome != wire.StateCommitted {
			t.Fatalf("warm-up: %+v %v", res, err)
		}
	}
	if res, err := start(honest, "nv", wire.Op{Kind: wire.OpSet, Key: "nv", Value: strings.Repeat("NOTANUMBER", 6<<10)}); err != nil || res.Outcome != wire.StateCommitted {
		t.Fatalf("warm-up: %+v %v", res, err)
	}

	b := c.Part("B")
	targets := []*cluster.Node{c.Coord, b}
	before, peak := map[*cluster.Node]int64{}, map[*cluster.Node]int64{}
	for _, n := range targets {
		before[n] = rssKiB(t, n.Pid())
	}
	var conns sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		for _, nc := range held {
			nc.Close()
		}
	})
	hold := func(nc net.Conn) {
		conns.Lock()
		held = append(held, nc)
		conns.Unlock()
	}

	stop := make(chan struct{})
	var attackers sync.WaitGroup
	var refused atomic.Int64
	errs := make(chan error, 100)
	var slowIn sync.WaitGroup
	for _, n := range targets {
		// Slow status readers.
		slowIn.Go(func() {
			for range slowPer {
				nc, err := slowReader(n.Addr())
				if err != nil {
					errs <- fmt.Errorf("%s: %w", n.ID, err)
					return
				}
				hold(nc)
			}
		})
		// Frames of 1 MiB all but their last byte, on many connections:
		// each would hold its megabyte until its frame deadline.
		slowIn.Go(func() {
			for range bigPer {
				nc, err := nearlyWholeFrame(n.Addr())
				if err != nil {
					errs <- fmt.Errorf("%s: %w", n.ID, err)
					return
				}
				hold(nc)
			}
		})
		// Count bombs.
		bombs := [][]byte{bombFrame(wire.TypeStart, 4, 3, 0x90), bombFrame(wire.TypeForget, 1, 0, 0xa0), bombFrame(wire.TypePrepare, 6, 2, 0x90)}
		for _, f := range bombs {
			attackers.Go(func() {
				// Refused in the handshake once idle clients fill the cap:
				// only a failure to connect is an error.
				if err := sendBomb(n.Addr(), f, 5*time.Second); err != nil && !strings.HasPrefix(err.Error(), "handshake") {
					errs <- fmt.Errorf("%s: bomb: %w", n.ID, err)
				}
			})
		}
		// Garbage, every kind.
		attackers.Go(func() {
			var g sync.WaitGroup
			for k := range garbageKinds {
				for i := range 3 {
					rng := rand.New(rand.NewPCG(uint64(k), uint64(n.Port+i)))
					g.Go(func() { attack(n.Addr(), k, rng, 3*time.Second) }) //nolint:errcheck // the node's part is to survive
				}
			}
			g.Wait()
		})
	}
	attacksDone := make(chan struct{})
	go func() { slowIn.Wait(); attackers.Wait(); close(attacksDone) }()
	// NO votes on the long value, as fast as they come, until the end.
	var noVotes sync.WaitGroup
	noVotes.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, err := start(noVoter, "no"+strconv.Itoa(i), wire.Op{Kind: wire.OpAdd, Key: "nv", Delta: 1})
			if err != nil || res.Outcome != wire.StateAborted || len(res.Reason) > wire.MaxReasonLen {
				errs <- fmt.Errorf("a NO vote: %+v %v", res, err)
				return
			}
		}
	})
	// Idle clients up to the cap and past it, once the slow readers are in.
	idleDone := make(chan struct{})
	go func() {
		defer close(idleDone)
		slowIn.Wait()
		for _, n := range targets {
			for range maxClients - slowPer - bigPer + idleOver {
				nc, err := net.DialTimeout("tcp", n.Addr(), 5*time.Second)
				if err != nil {
					errs <- err
					return
				}
				m, err := handshakeAs(nc, "idler")
				if e, ok := m.(*wire.Error); ok && e.Code == wire.ErrBusy {
					refused.Add(1)
					nc.Close()
					continue
				}
				if err != nil || m.Type() != wire.TypeHelloAck {
					nc.Close()
					errs <- fmt.Errorf("%s: an idle client: %v %v", n.ID, m, err)
					return
				}
				hold(nc)
			}
		}
	}()

	// The honest client commits while all that goes on, and the nodes'
	// memory is sampled.
	sample := func() {
		for _, n := range targets {
			peak[n] = max(peak[n], rssKiB(t, n.Pid()))
		}
	}
	attacked := time.Now()
	for i := 0; ; i++ {
		t0 := time.Now()
		res, err := start(honest, "honest"+strconv.Itoa(i), wire.Op{Kind: wire.OpSet, Key: "h" + strconv.Itoa(i), Value: "1"})
		if err != nil || res.Outcome != wire.StateCommitted {
			t.Fatalf("honest commit %d during the attack (after %v): %+v %v", i, time.Since(t0).Round(time.Millisecond), res, err)
		}
		sample()
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		done := i+1 >= commits
		for _, ch := range []chan struct{}{idleDone, attacksDone} {
			select {
			case <-ch:
			default:
				done = false
			}
		}
		if done {
			t.Logf("%d honest commits in %v under the mix", i+1, time.Since(attacked).Round(time.Millisecond))
			break
		}
	}
	close(stop)
	noVotes.Wait()
	sample()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if refused.Load() == 0 {
		t.Errorf("no idle client was refused past the cap of %d", maxClients)
	}
	sample()
	for _, n := range targets {
		t.Logf("%s %s: VmRSS %d KiB before, peak %d KiB (+%d KiB; bound +%d KiB)", n.Role, n.ID, before[n], peak[n], peak[n]-before[n], rssBound)
		if grew := peak[n] - before[n]; grew > rssBound {
			t.Errorf("%s %s: VmRSS grew by %d KiB under the mix, bound %d KiB", n.Role, n.ID, grew, rssBound)
		}
		if !n.Running() {
			t.Errorf("%s %s died", n.Role, n.ID)
		}
	}
	for _, n := range c.Nodes() {
		if !n.Running() {
			t.Errorf("%s %s died", n.Role, n.ID)
		}
	}
	if res, err := start(honest, "after", wire.Op{Kind: wire.OpSet, Key: "after", Value: "1"}); err != nil || res.Outcome != wire.StateCommitted {
		t.Errorf("after the mix: %+v %v", res, err)
	}
}
