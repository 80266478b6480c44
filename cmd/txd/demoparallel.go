package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// parallel runs scenario 5: PARALLEL's members finish a transaction
// without the coordinator, and one network partition is given to a 3PC
// and a PARALLEL transaction at once: 3PC's two sides apply different
// outcomes, PARALLEL's cut-off member waits and commits once healed.
func (d *demo) parallel(ctx context.Context) error {
	d.heading("Scenario 5: PARALLEL (committed exactly when every member has durably voted YES)")
	d.say("Restarting the coordinator with --delay %v: it answers the client, then waits before telling the members.", d.delay)
	if err := d.restartDelayed(ctx); err != nil {
		return err
	}

	d.say("\n-- killed after the votes, before the members hear the outcome:")
	if err := d.transactionProto(ctx, wire.Parallel, "TX6", "ADD", "balance", "100"); err != nil {
		return err
	}
	d.say("The client heard COMMITTED when the second YES came in; the coordinator forced nothing to its log first.")
	d.showTxs(ctx, "TX6")
	d.say("$ kill -9 %d   # the coordinator", d.procs["COORD"].pid())
	d.kill("COORD")
	killed := time.Now()
	if err := d.waitTx(ctx, 15*time.Second, "TX6", wire.StateCommitted, "B", "C"); err != nil {
		return fmt.Errorf("TX6 committed by the members alone: %w", err)
	}
	d.say("TX6: both COMMITTED %v after the coordinator died, with no coordinator: READY for one --timeout (1s),",
		time.Since(killed).Round(time.Millisecond))
	d.say("each member asked the other; both READY means both voted YES, which is the commit:")
	d.showTxs(ctx, "TX6")

	return d.partitioned(ctx)
}

// partitioned gives the split {COORD, B} | {C} to a 3PC transaction (TX7)
// and a PARALLEL one (TX8), both voted YES everywhere and not yet told the
// outcome, then heals it.
func (d *demo) partitioned(ctx context.Context) error {
	d.say("\n-- the same network partition, {COORD, B} | {C}, for 3PC and for PARALLEL:")
	if err := d.restartDelayed(ctx); err != nil {
		return err
	}
	defer d.net.HealAll()
	launched := time.Now()
	tx7 := d.startAsync(ctx, wire.ThreePC, "TX7", "ADD", "x3pc", "10")
	if err := d.waitTx(ctx, d.delay, "TX7", wire.StateReady, "B", "C"); err != nil {
		return fmt.Errorf("TX7 READY on B and C within the coordinator's --delay: %w", err)
	}
	if err := d.transactionProto(ctx, wire.Parallel, "TX8", "ADD", "xpar", "10"); err != nil {
		return err
	}
	d.say("$ partition {COORD, B} | {C}   # the proxies between the nodes hold every byte across the cut")
	d.net.Partition([]string{"COORD", "B"}, []string{"C"})
	cut := time.Now()
	// The cut must come while TX7's PRE-COMMIT is held by the delay and
	// before C's --timeout asks about TX8: else there is nothing to show.
	if since := cut.Sub(launched); since >= d.delay {
		return fmt.Errorf("partitioned %v after TX7 started, past the coordinator's --delay %v: this machine is too slow for the scenario", since, d.delay)
	}
	if err := d.waitTx(ctx, 0, "TX7", wire.StateReady, "C"); err != nil {
		return fmt.Errorf("C no longer READY on TX7 at the cut: %w", err)
	}
	if err := d.waitTx(ctx, 0, "TX8", wire.StateReady, "C"); err != nil {
		return fmt.Errorf("C no longer READY on TX8 at the cut: %w", err)
	}
	d.showTxs(ctx, "TX7", "TX8")

	d.say("\nWaiting for 3PC to finish on both sides of the cut...")
	if err := d.waitTx(ctx, 20*time.Second, "TX7", wire.StateCommitted, "B"); err != nil {
		return fmt.Errorf("TX7 committed on the coordinator's side: %w", err)
	}
	if err := d.waitTx(ctx, 20*time.Second, "TX7", wire.StateAborted, "C"); err != nil {
		return fmt.Errorf("TX7 aborted on C's side: %w", err)
	}
	if err := d.waitTx(ctx, 20*time.Second, "TX8", wire.StateCommitted, "B"); err != nil {
		return fmt.Errorf("TX8 committed on the coordinator's side: %w", err)
	}
	d.say("%v into the partition:", time.Since(cut).Round(100*time.Millisecond))
	d.showTxs(ctx, "TX7", "TX8")
	select {
	case r := <-tx7:
		d.say("%s", r)
	case <-time.After(15 * time.Second):
		return fmt.Errorf("TX7's client was never answered")
	case <-ctx.Done():
		return ctx.Err()
	}
	d.say("3PC: the coordinator pre-committed B and committed without C's ack; C, READY and alone, took")
	d.say("the silent others for crashed and aborted (termination protocol). PARALLEL: C voted YES, so TX8")
	d.say("is committed, but C cannot hear B's vote; it keeps asking, xpar stays locked, and it does not guess.")

	d.say("\n$ heal")
	d.net.HealAll()
	healed := time.Now()
	if err := d.waitTx(ctx, 15*time.Second, "TX8", wire.StateCommitted, "C"); err != nil {
		return fmt.Errorf("TX8 committed on C once healed: %w", err)
	}
	d.say("%v after healing:", time.Since(healed).Round(time.Millisecond))
	d.showTxs(ctx, "TX7", "TX8")
	line, err := d.awaitLogLine(ctx, 15*time.Second, "COORD", `msg="atomicity violated`, "tx=TX7")
	if err != nil {
		return err
	}
	d.say("COORD's log: %s", line)
	d.say("\nSame partition, same moment: 3PC applied TX7 on B only, for good; PARALLEL waited, then")
	d.say("committed TX8 on both. PARALLEL blocks only while a member's vote cannot be learned (docs/protocols.md).")
	return nil
}

// restartDelayed (re)starts the coordinator with --delay and waits until
// it reaches both participants.
func (d *demo) restartDelayed(ctx context.Context) error {
	if err := d.stop("COORD"); err != nil {
		return err
	}
	if err := d.startCoordinator(d.delay); err != nil {
		return err
	}
	return d.waitConnected(ctx)
}

// showTxs prints, for each participant, the state of each of txids (with
// its protocol and reason) and the store.
func (d *demo) showTxs(ctx context.Context, txids ...string) {
	d.eachParticipant(ctx, func(st *wire.Status) string {
		var cols []string
		for _, txid := range txids {
			col := txid + " ?"
			for _, t := range st.Transactions {
				if t.TxID == txid {
					col = fmt.Sprintf("%s %s %s", txid, t.Protocol, t.State)
					if t.Reason != "" {
						col += fmt.Sprintf(" (%s)", t.Reason)
					}
				}
			}
			cols = append(cols, col)
		}
		return strings.Join(cols, "; ") + "; store " + storeLine(st)
	})
}

// startAsync runs a transaction in the background; the channel carries
// the line describing its answer.
func (d *demo) startAsync(ctx context.Context, proto wire.Protocol, txid string, words ...string) <-chan string {
	ch := make(chan string, 1)
	ops, err := wire.ParseOps(words)
	if err != nil {
		ch <- fmt.Sprintf("%s: %v", txid, err)
		return ch
	}
	d.say("$ txcli --coord %s start %s %s %s &", d.addr("COORD"), txid, proto, strings.Join(words, " "))
	go func() {
		start := time.Now()
		cl, err := transport.DialClient(ctx, d.addr("COORD"))
		if err != nil {
			ch <- fmt.Sprintf("%s (%s): %v", txid, proto, err)
			return
		}
		defer cl.Close()
		res, err := cl.Start(ctx, txid, proto, ops)
		if err != nil {
			ch <- fmt.Sprintf("%s (%s): %v", txid, proto, err)
			return
		}
		ch <- fmt.Sprintf("%s (%s): the client was told %s after %v", res.TxID, proto, res.Outcome, time.Since(start).Round(time.Millisecond))
	}()
	return ch
}

// awaitLogLine polls node id's log until a line contains every one of
// parts, and returns it.
func (d *demo) awaitLogLine(ctx context.Context, limit time.Duration, id string, parts ...string) (string, error) {
	var found string
	err := poll(ctx, limit, func() (bool, error) {
		f, err := os.Open(filepath.Join(d.dir, id+".log"))
		if err != nil {
			return false, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
	lines:
		for sc.Scan() {
			for _, p := range parts {
				if !strings.Contains(sc.Text(), p) {
					continue lines
				}
			}
			found = sc.Text()
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("a line with %q in %s's log: %w", parts, id, err)
	}
	return found, nil
}
