package coordinator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Backpressure: a coordinator with more transactions in flight than it
// admits answers the excess with a clear "busy" error at once, and admits
// again once they finish.
func TestBusyBeyondMaxInflight(t *testing.T) {
	// A participant nobody answers: every transaction waits out the vote
	// timeout, so they stay in flight.
	dead := deadAddr(t)
	c, err := Start(Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: []string{"B=" + dead},
		WAL: filepath.Join(t.TempDir(), "coord.wal"), Timeout: time.Second, MaxInflight: 2, Logger: nodetest.QuietLogger(),
		Fatal: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ops := []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}
	done := make(chan *wire.StartResult, 2)
	for i := 0; i < 2; i++ {
		go func(i int) {
			res, err := cl.Start(ctx, fmt.Sprintf("W%d", i), wire.TwoPC, ops)
			if err != nil {
				t.Error(err)
			}
			done <- res
		}(i)
	}
	// Both admitted (polled through status), then a third is refused.
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		st, err := cl.Status(ctx)
		return err == nil && len(st.Transactions) == 2
	})
	t0 := time.Now()
	_, err = cl.Start(ctx, "X", wire.TwoPC, ops)
	var re *wire.RemoteError
	if !errors.As(err, &re) || re.Code != wire.ErrBusy {
		t.Fatalf("third transaction: %v, want a busy error", err)
	}
	if time.Since(t0) > 500*time.Millisecond {
		t.Errorf("busy took %v: the excess must be refused at once, not queued", time.Since(t0))
	}
	for i := 0; i < 2; i++ {
		if res := <-done; res == nil || res.Outcome != wire.StateAborted {
			t.Fatalf("in-flight transaction: %+v, want ABORTED (no vote)", res)
		}
	}
	// Their answers can overtake the coordinator's bookkeeping by a hair.
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		_, err := cl.Start(ctx, "Y", wire.TwoPC, ops)
		return !errors.As(err, &re)
	})
}

// Drain (a clean stop) refuses new transactions with a "shutdown" error
// and returns once those in flight are decided, so their clients get an
// outcome instead of a lost connection.
func TestDrainWaitsForDecisions(t *testing.T) {
	dead := deadAddr(t)
	c, err := Start(Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: []string{"B=" + dead},
		WAL: filepath.Join(t.TempDir(), "coord.wal"), Timeout: 500 * time.Millisecond, Logger: nodetest.QuietLogger(),
		Fatal: func(err error) { t.Error(err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cl, err := transport.DialClient(ctx, c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ops := []wire.Op{{Kind: wire.OpSet, Key: "k", Value: "v"}}
	got := make(chan *wire.StartResult, 1)
	go func() {
		res, _ := cl.Start(ctx, "W", wire.TwoPC, ops)
		got <- res
	}()
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		st, err := cl.Status(ctx)
		return err == nil && len(st.Transactions) == 1
	})
	drained := make(chan bool, 1)
	go func() { drained <- c.Drain(5 * time.Second) }()
	// A fresh id per try: a try that reaches the coordinator before the
	// drain does is admitted, and retrying its id would only return its
	// outcome.
	tries := 0
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		tries++
		_, err := cl.Start(ctx, fmt.Sprintf("NEW-%d", tries), wire.TwoPC, ops)
		var re *wire.RemoteError
		return errors.As(err, &re) && re.Code == wire.ErrShutdown
	})
	if !<-drained {
		t.Fatal("Drain gave up although the transaction decides within its vote timeout")
	}
	if res := <-got; res == nil || res.Outcome != wire.StateAborted {
		t.Fatalf("in-flight client got %+v, want its outcome (ABORTED: no vote)", res)
	}
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
