package main

// Real-process tests of the coordinator's handling of its members'
// connections and of retried ids: a participant whose handshake comes late,
// a participant that is down, a retry of an id the coordinator forgot.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
)

// TestLateHandshakeVoteCounts: with the seed's --participants form
// (addresses, no ids), a transaction that begins before a participant's
// handshake has finished names it by its address; its YES vote, which
// carries its id, must still count. The participant is paused (SIGSTOP)
// while the coordinator starts, so the coordinator's dial hangs in the
// handshake; it is resumed once the transaction is running.
func TestLateHandshakeVoteCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	c := cluster.New(t, cluster.Shared(t), cluster.Config{CoordTimeout: 4 * time.Second})
	for _, p := range c.Parts {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(strings.Join(c.Coord.Args(), " "), "--participants http://") {
		t.Fatalf("the cluster no longer uses the address-only form: %v", c.Coord.Args())
	}
	b := c.Part("B")
	if err := b.Pause(); err != nil {
		t.Fatal(err)
	}
	defer b.Resume() // before cleanup's SIGTERM, also on failure
	// Not Coord.Start: its status request would wait on the paused B.
	if err := c.Coord.LaunchAndDial(waitTimeout); err != nil {
		t.Fatal(err)
	}

	done := startAsync(c, "LATE1", "2PC", "SET", "k", "v")
	// The transaction runs (C has voted, B's vote is awaited) before B is
	// resumed.
	waitPart(t, c, "C", "LATE1 prepared", func(st cluster.ParticipantOut) error {
		if s := st.TxState("LATE1"); s != "READY" {
			return fmt.Errorf("LATE1 is %q", s)
		}
		return nil
	})
	if err := b.Resume(); err != nil {
		t.Fatal(err)
	}
	res := awaitStart(t, done)
	wantOutcome(t, res.out, res.r, 0, "COMMITTED")
	waitPart(t, c, "B", "LATE1 committed", func(st cluster.ParticipantOut) error {
		if st.Store["k"] != "v" {
			return fmt.Errorf("store %v", st.Store)
		}
		return nil
	})
}

// TestUnreachableMemberAbortsAtOnce: a participant that is down (its
// connection closed, a fresh dial refused) makes a transaction that needs
// it abort at once, saying so, instead of after the whole vote timeout
// (30 s here); a transaction that does not need it still commits. Both
// protocols. Once the participant is back, transactions commit again.
func TestUnreachableMemberAbortsAtOnce(t *testing.T) {
	c := startCluster(t, cluster.Config{CoordTimeout: 30 * time.Second})
	commit(t, c, "UP1", "SET", "k", "1")
	b := c.Part("B")
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"2PC", "3PC"} {
		id := "DOWN-" + proto
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a third of the vote timeout
		out, r, err := c.Bins.StartTx(ctx, c.Coord.Addr(), id, proto, "SET", "k", "2")
		cancel()
		if err != nil {
			t.Fatalf("%s: not answered well before the 30 s vote timeout: %v", id, err)
		}
		wantOutcome(t, out, r, 1, "ABORTED")
		if !strings.Contains(out.Reason, "unreachable") || !strings.Contains(out.Reason, "refused") {
			t.Fatalf("%s: reason %q does not say the participant is unreachable and why", id, out.Reason)
		}
		if strings.Contains(out.Reason, "no vote") {
			t.Fatalf("%s: aborted on the vote timeout: %q", id, out.Reason)
		}
	}
	// C alone is not affected.
	out, r := c.StartTx("C-ONLY", "2PC", "C:SET", "k", "3")
	wantOutcome(t, out, r, 0, "COMMITTED")

	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	c.WaitConnected("B")
	commit(t, c, "UP2", "SET", "k", "4")
}

// TestExpiredCommittedIdNeverAborted: once a committed transaction has left
// the coordinator's outcome window (--keep-outcomes 2 here), retrying its id
// must not report ABORTED: the participants still remember it committed,
// and the coordinator answers "id too old" (exit 2, code too_old), the
// same on every retry, also after a restart. The retry changes nothing.
func TestExpiredCommittedIdNeverAborted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	c := cluster.New(t, cluster.Shared(t), cluster.Config{})
	c.Coord.SetFlag("keep-outcomes", "2")
	for _, p := range c.Parts {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	c.StartCoord()
	for _, proto := range []string{"2PC", "3PC"} {
		old := "OLD-" + proto
		out, r := c.StartTx(old, proto, "ADD", "n", "5")
		wantOutcome(t, out, r, 0, "COMMITTED")
		for i := range 6 { // push it out of the window
			// A key each: a 3PC client hears COMMITTED before the members
			// do, so the next on the same key may find it still locked.
			out, r := c.StartTx(fmt.Sprintf("PAD-%s-%d", proto, i), proto, "SET", fmt.Sprintf("pad%d", i), "x")
			wantOutcome(t, out, r, 0, "COMMITTED")
		}
		for attempt := range 2 {
			if attempt == 1 && proto == "3PC" {
				if err := c.Coord.Stop(); err != nil {
					t.Fatal(err)
				}
				if err := c.Coord.Restart(); err != nil {
					t.Fatal(err)
				}
				c.WaitConnected("B", "C")
			}
			out, r = c.StartTx(old, proto, "ADD", "n", "5")
			if out.Outcome == "ABORTED" || r.Code == 1 {
				t.Fatalf("retry %d of the committed %s reported ABORTED: %v", attempt, old, r)
			}
			if r.Code != 2 || out.Code != "too_old" || !strings.Contains(out.Error, "COMMITTED") {
				t.Fatalf("retry %d of %s: want exit 2, code too_old, naming COMMITTED; got %v", attempt, old, r)
			}
		}
	}
	// The coordinator's status does not call the last one aborted either.
	if tx, ok := c.MustCoordStatus().Tx("OLD-3PC"); !ok || tx.State == "ABORTED" || !strings.Contains(tx.Reason, "too old") {
		t.Fatalf("coordinator status of OLD-3PC: %+v (listed: %v), want not ABORTED, reason too old", tx, ok)
	}
	// Each ADD ran once.
	for _, id := range []string{"B", "C"} {
		if st := c.MustPartStatus(id); st.Store["n"] != "10" {
			t.Fatalf("%s: n = %q, want 10 (each committed ADD once)", id, st.Store["n"])
		}
	}
}
