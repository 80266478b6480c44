package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// startClusterWith is startCluster with per-node set-up (flags, a wrapper)
// before anything starts.
func startClusterWith(t *testing.T, cfg cluster.Config, setup func(*cluster.Cluster)) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	c := cluster.New(t, cluster.Shared(t), cfg)
	setup(c)
	for _, p := range c.Parts {
		if err := p.Start(); err != nil {
			t.Fatalf("starting participant %s: %v", p.ID, err)
		}
	}
	c.StartCoord()
	return c
}

// commitOn runs one 2PC transaction setting a key on every participant and
// fails the test unless it commits.
func commitOn(t *testing.T, c *cluster.Cluster, txid string) {
	t.Helper()
	out, r := c.StartTx(txid, "2PC", "SET", txid, "1")
	wantOutcome(t, out, r, 0, "COMMITTED")
}

// 15. Idle client connections are reclaimed: with --idle-timeout 300ms a
// client connection that says nothing is told so and closed by the
// coordinator and by a participant, while the coordinator's own (idle)
// connections to the participants are kept.
func TestIdleClientTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	c := startClusterWith(t, cluster.Config{}, func(c *cluster.Cluster) {
		for _, n := range c.Nodes() {
			n.SetFlag("idle-timeout", idle.String())
		}
	})
	commitOn(t, c, "before")
	targets := []*cluster.Node{c.Coord, c.Part("B")}
	var conns []net.Conn
	for _, n := range targets {
		conns = append(conns, clientHello(t, n.Addr(), "idler"))
	}
	opened := time.Now()
	for i, n := range targets {
		nc := conns[i]
		cluster.Eventually(t, waitTimeout, n.ID+" closes the idle client", func() error {
			nc.SetReadDeadline(time.Now().Add(cluster.PollInterval))
			m, err := wire.ReadFrame(bufio.NewReader(nc), 0)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return err
			}
			if e, ok := m.(*wire.Error); !ok || e.Code != wire.ErrIdle {
				t.Fatalf("%s: the idle client got %v %v, want an Error (idle)", n.ID, m, err)
			}
			return nil
		})
		if took := time.Since(opened); took < idle {
			t.Fatalf("%s closed it after %v, before the idle timeout", n.ID, took)
		}
	}
	// The coordinator's connections to B and C were as idle, and kept.
	commitOn(t, c, "after")
	if lines := c.Coord.LogLines("peer disconnected"); len(lines) > 0 {
		t.Errorf("the coordinator lost a participant connection: %v", lines)
	}
}

// 16. Connections are capped to the descriptor limit, and the coordinator is
// always admitted: participant B runs under a limit of 256 descriptors and
// 300 idle client connections are opened to it (without the cap, B runs out
// of descriptors and cannot accept anyone). The excess is refused with a
// busy Error, the coordinator (killed and restarted) connects to B again,
// and transactions commit.
func TestFdLimitAdmitsCoordinator(t *testing.T) {
	const (
		nofile = 256
		flood  = 300
	)
	prlimit := "/usr/bin/prlimit"
	if _, err := os.Stat(prlimit); err != nil {
		t.Skipf("no %s: %v", prlimit, err)
	}
	c := startClusterWith(t, cluster.Config{}, func(c *cluster.Cluster) {
		c.Part("B").SetWrapper(prlimit, "--nofile="+strconv.Itoa(nofile)+":"+strconv.Itoa(nofile), "--")
	})
	b := c.Part("B")
	commitOn(t, c, "before")

	// The flood: every connection handshakes as a client and stays open.
	var mu sync.Mutex
	var acked, refused, silent int
	var conns []net.Conn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range flood {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			nc, err := net.DialTimeout("tcp", b.Addr(), 2*time.Second)
			if err != nil {
				mu.Lock()
				silent++
				mu.Unlock()
				return
			}
			hello, _ := wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, NodeID: "idle" + strconv.Itoa(i), Role: wire.RoleClient})
			nc.Write(hello)
			nc.SetReadDeadline(time.Now().Add(time.Second))
			m, _ := wire.ReadFrame(bufio.NewReader(nc), 0)
			mu.Lock()
			defer mu.Unlock()
			conns = append(conns, nc)
			switch m := m.(type) {
			case *wire.HelloAck:
				acked++
			case *wire.Error:
				if m.Code == wire.ErrBusy {
					refused++
					return
				}
				silent++
			default:
				silent++ // not answered: B out of descriptors
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nc := range conns {
			nc.Close()
		}
	})
	t.Logf("%d client connections to B under --nofile=%d: %d admitted, %d refused busy, %d unanswered", flood, nofile, acked, refused, silent)
	if refused == 0 || silent > 0 {
		t.Errorf("want the excess refused with a busy Error, none unanswered: %d admitted, %d refused, %d unanswered", acked, refused, silent)
	}
	if len(b.LogLines("refusing client connections over the limit")) == 0 {
		t.Errorf("B did not log the refusals")
	}

	// The coordinator comes back and must get through to B.
	if err := c.Coord.Kill(); err != nil {
		t.Fatal(err)
	}
	c.StartCoord()
	commitOn(t, c, "after")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := transport.DialClient(ctx, b.Addr())
	if err == nil {
		cl.Close()
	}
	if !errors.Is(err, wire.ErrBusy) {
		t.Errorf("one more client to B: %v, want a busy refusal", err)
	}
}
