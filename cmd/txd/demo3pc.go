package main

import (
	"context"
	"fmt"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// threePC runs seed scenario 4 and then kills the coordinator in each of
// 3PC's two windows, to set beside scenario 2: where 2PC blocked, 3PC's
// participants finish the transaction by themselves.
func (d *demo) threePC(ctx context.Context) error {
	d.heading("Scenario 4: standard 3PC commit (CAN-COMMIT -> votes -> PRE-COMMIT -> acks -> DO-COMMIT)")
	if err := d.transactionProto(ctx, wire.ThreePC, "TX3", "SET", "data", "777"); err != nil {
		return err
	}
	if err := d.waitStates(ctx, "TX3", wire.StateCommitted); err != nil {
		return err
	}
	d.showParticipants(ctx, "TX3")

	d.heading(fmt.Sprintf("3PC without a coordinator (restarting it with --delay %v before each phase)", d.delay))
	if err := d.stop("COORD"); err != nil {
		return err
	}
	if err := d.startCoordinator(d.delay); err != nil {
		return err
	}
	if err := d.waitConnected(ctx); err != nil {
		return err
	}

	d.say("\n-- killed while both are PRECOMMITTED (after PRE-COMMIT, before DO-COMMIT):")
	if err := d.transactionProto(ctx, wire.ThreePC, "TX4", "ADD", "balance", "100"); err != nil {
		return err
	}
	if err := d.crashAndWatch(ctx, "TX4", wire.StatePrecommitted, wire.StateCommitted); err != nil {
		return err
	}

	d.say("\n-- killed while both are READY (before PRE-COMMIT):")
	if err := d.startCoordinator(d.delay); err != nil {
		return err
	}
	if err := d.waitConnected(ctx); err != nil {
		return err
	}
	go d.transactionAsync(ctx, "TX5", "ADD", "balance", "100")
	if err := d.crashAndWatch(ctx, "TX5", wire.StateReady, wire.StateAborted); err != nil {
		return err
	}

	d.say("\n-- the coordinator comes back and asks the participants; it reports what they decided:")
	if err := d.startCoordinator(0); err != nil {
		return err
	}
	if err := poll(ctx, 15*time.Second, func() (bool, error) {
		st, err := status(ctx, d.addr("COORD"))
		if err != nil {
			return false, nil
		}
		n := 0
		for _, t := range st.Transactions {
			if (t.TxID == "TX4" && t.State == wire.StateCommitted) || (t.TxID == "TX5" && t.State == wire.StateAborted) {
				n++
			}
		}
		return n == 2, nil
	}); err != nil {
		return err
	}
	st, err := status(ctx, d.addr("COORD"))
	if err != nil {
		return err
	}
	for _, t := range st.Transactions {
		if t.TxID == "TX4" || t.TxID == "TX5" {
			if t.Reason != "" {
				d.say("  COORD  %s %s (%s)", t.TxID, t.State, t.Reason)
			} else {
				d.say("  COORD  %s %s", t.TxID, t.State)
			}
		}
	}
	d.say("\n2PC (scenario 2) blocked in READY until its coordinator came back; 3PC decided without it,")
	d.say("commit when someone was PRECOMMITTED, abort when all were READY. The price: one more round")
	d.say("trip and forced write per transaction, and 3PC is not safe if the network partitions (see docs/protocols.md).")
	return nil
}

// crashAndWatch waits until txid is in state `in` on both participants,
// kills the coordinator, and times how long the participants take to reach
// `want` by themselves.
func (d *demo) crashAndWatch(ctx context.Context, txid string, in, want wire.State) error {
	if err := d.waitStates(ctx, txid, in); err != nil {
		return err
	}
	d.showParticipants(ctx, txid)
	d.say("$ kill -9 %d   # the coordinator", d.procs["COORD"].pid())
	d.kill("COORD")
	killed := time.Now()
	if err := d.waitStates(ctx, txid, want); err != nil {
		return err
	}
	d.say("%v after the coordinator died, with no coordinator (termination protocol, participant --timeout 1s):",
		time.Since(killed).Round(time.Millisecond))
	d.showParticipants(ctx, txid)
	return nil
}

// transactionAsync starts a transaction whose coordinator will be killed
// before it answers: the client learns nothing, which is the point.
func (d *demo) transactionAsync(ctx context.Context, txid string, words ...string) {
	ops, err := wire.ParseOps(words)
	if err != nil {
		return
	}
	cl, err := transport.DialClient(ctx, d.addr("COORD"))
	if err != nil {
		return
	}
	defer cl.Close()
	_, _ = cl.Start(ctx, txid, wire.ThreePC, ops)
}
