package main

// Concurrent transactions on real processes (conventions: helpers_test.go):
// on different keys they all commit; on the same key the losers abort on the
// lock and the balances add up.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// Concurrent transactions on different keys all commit: 50 at once on
// one wire client, and 10 txcli processes at once.
func TestConcurrentDifferentKeys(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordTimeout: 5 * time.Second})
	cl := dial(t, c)

	const n = 50
	results := make([]*wire.StartResult, n)
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ops := []wire.Op{{Kind: wire.OpSet, Key: fmt.Sprintf("key%02d", i), Value: fmt.Sprintf("val%02d", i)}}
			results[i], errs[i] = cl.Start(ctx, fmt.Sprintf("W%02d", i), wire.TwoPC, ops)
		})
	}
	const procs = 10
	cli := make([]cluster.Result, procs)
	cliOut := make([]cluster.StartOut, procs)
	cliErr := make([]error, procs)
	for i := range procs {
		wg.Go(func() {
			cliOut[i], cli[i], cliErr[i] = c.Bins.StartTx(ctx, c.Coord.Addr(), fmt.Sprintf("P%02d", i), "2PC",
				"SET", fmt.Sprintf("pkey%02d", i), strconv.Itoa(i))
		})
	}
	wg.Wait()
	for i := range n {
		switch {
		case errs[i] != nil:
			t.Errorf("W%02d: %v", i, errs[i])
		case results[i].Outcome != wire.StateCommitted:
			t.Errorf("W%02d: %s (%s)", i, results[i].Outcome, results[i].Reason)
		}
	}
	for i := range procs {
		if cliErr[i] != nil {
			t.Errorf("P%02d: %v", i, cliErr[i])
		} else if cli[i].Code != 0 || cliOut[i].Outcome != "COMMITTED" {
			t.Errorf("P%02d: %v", i, cli[i])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "every transaction committed, every value present", func(p cluster.ParticipantOut) error {
			for i := range n {
				if err := all(inState(fmt.Sprintf("W%02d", i), "COMMITTED"), hasValue(fmt.Sprintf("key%02d", i), fmt.Sprintf("val%02d", i)))(p); err != nil {
					return err
				}
			}
			for i := range procs {
				if err := all(inState(fmt.Sprintf("P%02d", i), "COMMITTED"), hasValue(fmt.Sprintf("pkey%02d", i), strconv.Itoa(i)))(p); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// Concurrent transactions on the same key conflict: the losers abort on
// the lock, and each participant's final value is the initial one plus
// exactly the committed deltas. Participants lock without waiting, so a
// round may abort every transaction (B's lock taken by one, C's by
// another): rounds repeat until at least one transaction committed.
func TestConflictingSameKey(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordTimeout: 5 * time.Second})
	commit(t, c, "T0", "SET", "balance", "1000")
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "balance 1000", hasValue("balance", "1000"))
	}
	cl := dial(t, c)

	const perRound, maxRounds = 20, 5
	want := int64(1000)
	var committed, aborted []string
	for round := 0; round < maxRounds && len(committed) == 0; round++ {
		delta := func(i int) int64 { return int64(100*round + i + 1) }
		results := make([]*wire.StartResult, perRound)
		errs := make([]error, perRound)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var wg sync.WaitGroup
		for i := range perRound {
			wg.Go(func() {
				ops := []wire.Op{{Kind: wire.OpAdd, Key: "balance", Delta: delta(i)}}
				results[i], errs[i] = cl.Start(ctx, fmt.Sprintf("X%d-%02d", round, i), wire.TwoPC, ops)
			})
		}
		wg.Wait()
		cancel()

		n := len(committed)
		for i := range perRound {
			id := fmt.Sprintf("X%d-%02d", round, i)
			switch {
			case errs[i] != nil:
				t.Fatalf("%s: %v", id, errs[i])
			case results[i].Outcome == wire.StateCommitted:
				committed = append(committed, id)
				want += delta(i)
			case results[i].Outcome == wire.StateAborted:
				aborted = append(aborted, id)
				if !strings.Contains(results[i].Reason, "locked") {
					t.Errorf("%s aborted for a reason other than the lock: %q", id, results[i].Reason)
				}
			default:
				t.Fatalf("%s: outcome %q", id, results[i].Outcome)
			}
		}
		t.Logf("round %d: %d of %d committed", round, len(committed)-n, perRound)

		for _, id := range []string{"B", "C"} {
			waitPart(t, c, id, fmt.Sprintf("balance %d = 1000 + the committed deltas", want), func(p cluster.ParticipantOut) error {
				for _, tx := range p.Transactions {
					if tx.State != "COMMITTED" && tx.State != "ABORTED" {
						return fmt.Errorf("%s still %s", tx.ID, tx.State)
					}
				}
				for _, x := range committed {
					if s := p.TxState(x); s != "COMMITTED" {
						return fmt.Errorf("%s committed at the coordinator but is %q here", x, s)
					}
				}
				for _, x := range aborted {
					if s := p.TxState(x); s == "COMMITTED" {
						return fmt.Errorf("%s aborted at the coordinator but committed here", x)
					}
				}
				return hasValue("balance", strconv.FormatInt(want, 10))(p)
			})
		}
	}
	if len(committed) == 0 {
		t.Fatalf("no transaction committed in %d rounds of %d", maxRounds, perRound)
	}
	t.Logf("committed %v; %d aborted", committed, len(aborted))
}
