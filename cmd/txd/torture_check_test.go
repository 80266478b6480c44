package main

// The torture test's checks after healing: nothing in doubt or locked, every
// outcome a client was told holds, balances are the opening ones plus the
// committed transfers, the nodes agree; and how a violation is recorded.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

func (tt *torture) violate(invariant string, txids []string, format string, args ...any) {
	v := violation{invariant: invariant, detail: fmt.Sprintf(format, args...), txids: txids, only3PC: len(txids) > 0}
	for _, id := range txids {
		tr := tt.byID[id]
		if tr == nil || tr.proto != wire.ThreePC {
			v.only3PC = false
		}
	}
	tt.violations = append(tt.violations, v)
}

// checkAll runs every check after healing.
func (tt *torture) checkAll(healed time.Time) {
	t := tt.t
	if tt.brokenHarness() {
		return // report() says why; the cluster's state proves nothing
	}

	// 1. Nothing in doubt within tortureHealBound of healing.
	if err := cluster.Poll(context.Background(), time.Until(healed.Add(tortureHealBound)), func() error { return tt.inDoubt("") }); err != nil {
		tt.violate("no transaction left READY/PRECOMMITTED/undecided 30s after healing", doubtIDs(err), "%v", err)
	} else {
		t.Logf("nothing in doubt %v after healing", time.Since(healed).Round(time.Millisecond))
	}

	// 2. Nothing locked: a transaction touching every account on every
	// participant commits (tried again while it aborts, until the bound).
	tt.lockProbe(healed)

	// 3. Every transfer's outcome: what its client was told, checked
	// against the coordinator's record for the recent ones.
	tt.settleOutcomes()

	// 4. The retries may have run transfers the coordinator had never
	// heard of: wait until those settle too.
	if err := cluster.Poll(context.Background(), tortureHealBound, func() error { return tt.inDoubt("") }); err != nil {
		tt.violate("no transaction left undecided after the final retries", doubtIDs(err), "%v", err)
	}

	// 5. The final state of every node.
	parts := map[string]*wire.Status{}
	for _, p := range tt.c.Parts {
		st, err := tortureStatus(p.Addr())
		if err != nil {
			t.Errorf("seed %d: status of %s: %v", tt.o.seed, p.ID, err)
			return
		}
		parts[p.ID] = st
	}
	coord, err := tt.coordStatus()
	if err != nil {
		t.Errorf("seed %d: the coordinator's status: %v", tt.o.seed, err)
	}
	tt.checkBalances(parts)
	tt.checkListed(parts, coord)
}

// lockProbe runs "ADD acctI 0" for every account on every participant until
// it commits; a lock still held tortureHealBound after healing is a
// violation. Any abort is retried, not only "locked": a PREPARE slower than
// a peer's --timeout is legitimately aborted by that peer's query ("asked
// by D before it was prepared here"), and a healed cluster may be slow for
// a moment while it catches up.
func (tt *torture) lockProbe(healed time.Time) {
	var ops []wire.Op
	for i := range tortureAccounts {
		ops = append(ops, wire.Op{Kind: wire.OpAdd, Key: acct(i), Delta: 0})
	}
	deadline := healed.Add(tortureHealBound)
	var last string
	for try := 0; ; try++ {
		id := fmt.Sprintf("probe-%d", try)
		res, err := tt.startOnce(id, wire.TwoPC, ops)
		switch {
		case err == nil && res.Outcome == wire.StateCommitted:
			tt.t.Logf("lock probe %s committed %v after healing (%d tries)", id, time.Since(healed).Round(time.Millisecond), try+1)
			return
		case err == nil:
			last = fmt.Sprintf("%s %s: %s", id, res.Outcome, res.Reason)
		default:
			last = fmt.Sprintf("%s: %v", id, err)
		}
		if time.Now().After(deadline) {
			var held []string
			if _, holder, ok := strings.Cut(last, "locked by "); ok {
				held = []string{strings.Fields(holder)[0]}
			}
			tt.violate("no key left locked 30s after healing (the lock probe, ADD 0 on every account, commits)", held,
				"%d tries; the last: %s", try+1, last)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settleOutcomes gives every transfer the outcome the checks hold the
// cluster to: what its client was told, first or when it asked again. The
// recent ones (tortureCheckWindow, well inside the coordinator's
// --keep-outcomes) and any still UNKNOWN are started once more, same id
// and operations: the coordinator must answer with its recorded outcome
// and run nothing, or, for an id it never logged, run it now (also fine:
// that run is its outcome).
func (tt *torture) settleOutcomes() {
	var cl *transport.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	recent := len(tt.transfers) - tortureCheckWindow
	for i, tr := range tt.transfers {
		known := outPending
		switch {
		case tr.seen == outRefused:
			tr.final = outRefused
			continue
		case tr.seen == outCommitted || tr.seen == outAborted:
			known = tr.seen
		case tr.resolved == outCommitted || tr.resolved == outAborted:
			known = tr.resolved
		}
		if known != outPending && i < recent {
			tr.final = known
			continue
		}
		var res *wire.StartResult
		var err error
		for try := 0; try < 5; try++ {
			if cl == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				cl, err = transport.DialClient(ctx, tt.c.Coord.Addr())
				cancel()
				if err != nil {
					cl = nil
					time.Sleep(200 * time.Millisecond)
					continue
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), tortureCallTimeout)
			res, err = cl.Start(ctx, tr.id, tr.proto, tr.ops())
			cancel()
			if err == nil {
				break
			}
			cl.Close()
			cl = nil
			time.Sleep(200 * time.Millisecond)
		}
		switch {
		case err != nil:
			tr.checked, tr.checkedWhy = outUnknown, err.Error()
			tt.violate("a retried id returns its recorded outcome", []string{tr.id}, "%s: starting it again after healing failed: %v", tr.id, err)
		case outcomeOf(res.Outcome) == outUnknown:
			tr.checked, tr.checkedWhy = outUnknown, fmt.Sprintf("outcome %q", res.Outcome)
			tt.violate("a retried id returns its recorded outcome", []string{tr.id}, "%s: starting it again answered %q", tr.id, res.Outcome)
		default:
			tr.checked, tr.checkedWhy = outcomeOf(res.Outcome), res.Reason
		}
		switch {
		case known == outPending:
			tr.final = tr.checked
		case tr.checked != outUnknown && tr.checked != known:
			tt.violate("every outcome a client was told holds (the coordinator's record agrees)", []string{tr.id},
				"%s: the client was told %s; the same id now answers %s (%q)", tr.id, known, tr.checked, tr.checkedWhy)
			tr.final = known
		default:
			tr.final = known
		}
	}
}

// checkBalances: every participant's store is the opening balances plus
// exactly the committed transfers; no balance is negative; money is
// conserved.
func (tt *torture) checkBalances(parts map[string]*wire.Status) {
	want := map[string]map[string]int64{}
	for _, p := range tt.parts {
		want[p] = map[string]int64{}
		for i := range tortureAccounts {
			want[p][acct(i)] = tortureInitial
		}
	}
	// Committed transfers by account, to name suspects in a mismatch.
	touching := map[string][]string{}
	for _, tr := range tt.transfers {
		if tr.final == outCommitted {
			want[tr.fromPart][acct(tr.fromAcct)] -= tr.amount
			want[tr.toPart][acct(tr.toAcct)] += tr.amount
		}
		touching[tr.fromPart+":"+acct(tr.fromAcct)] = append(touching[tr.fromPart+":"+acct(tr.fromAcct)], tr.id)
		touching[tr.toPart+":"+acct(tr.toAcct)] = append(touching[tr.toPart+":"+acct(tr.toAcct)], tr.id)
	}
	var total int64
	for _, p := range tt.parts {
		st := parts[p]
		for k, v := range st.Store {
			n, err := strconv.ParseInt(v, 10, 64)
			_, isAcct := want[p][k]
			switch {
			case !isAcct:
				tt.violate("no key but the accounts", nil, "%s: unexpected key %s = %q", p, k, v)
			case err != nil:
				tt.violate("balances are integers", nil, "%s: %s = %q", p, k, v)
			default:
				total += n
				if n < 0 {
					tt.violate("no negative balance", nil, "%s: %s = %d", p, k, n)
				}
			}
		}
		for i := range tortureAccounts {
			k := acct(i)
			got, ok := st.Store[k]
			if !ok {
				tt.violate("balance = initial + committed transfers", nil, "%s: %s missing", p, k)
				continue
			}
			if got != strconv.FormatInt(want[p][k], 10) {
				tt.violate("balance = initial + committed transfers", nil,
					"%s: %s = %s, want %d (opening %d plus the %d committed transfers touching it; %d transfers touched it in all)",
					p, k, got, want[p][k], tortureInitial, tt.committedTouching(p, i), len(touching[p+":"+k]))
			}
		}
	}
	if want := int64(len(tt.parts) * tortureAccounts * tortureInitial); total != want {
		tt.violate("the sum over every account is conserved", nil, "sum %d, want %d", total, want)
	}
}

func (tt *torture) committedTouching(part string, i int) int {
	n := 0
	for _, tr := range tt.transfers {
		if tr.final == outCommitted && ((tr.fromPart == part && tr.fromAcct == i) || (tr.toPart == part && tr.toAcct == i)) {
			n++
		}
	}
	return n
}

// checkListed compares every state a node still lists (participants keep
// the live transactions and the last forgotten ones; the coordinator its
// outcome window) with the outcomes, and the nodes with each other.
func (tt *torture) checkListed(parts map[string]*wire.Status, coord *wire.Status) {
	for p, st := range parts {
		tt.record(p, st)
	}
	listed := tt.observed // participant → id → status; no more writers
	for _, tr := range tt.transfers {
		want := tr.final
		from, okFrom := listed[tr.fromPart][tr.id]
		to, okTo := listed[tr.toPart][tr.id]
		if okFrom && okTo && from.State != to.State {
			tt.violate("no transfer applied on one side only", []string{tr.id},
				"%s: %s says %s (%q), %s says %s (%q)", tr.id, tr.fromPart, from.State, from.Reason, tr.toPart, to.State, to.Reason)
			continue
		}
		for _, side := range []struct {
			part string
			tx   wire.TxStatus
			ok   bool
		}{{tr.fromPart, from, okFrom}, {tr.toPart, to, okTo}} {
			if !side.ok {
				continue
			}
			got := outcomeOf(side.tx.State)
			switch {
			case want == outRefused:
				tt.violate("a refused transaction never runs", []string{tr.id},
					"%s was refused (%q) but %s lists it %s", tr.id, tr.reason, side.part, side.tx.State)
			case (want == outCommitted || want == outAborted) && got != want:
				tt.violate("every outcome a client was told (or the retry recorded) is what the participants did", []string{tr.id},
					"%s: outcome %s, but %s lists it %s (%q)", tr.id, want, side.part, side.tx.State, side.tx.Reason)
			}
		}
	}
	if coord == nil {
		return
	}
	for _, tx := range coord.Transactions {
		tr := tt.byID[tx.TxID]
		if !tx.State.Final() {
			tt.violate("the coordinator has decided everything after healing", []string{tx.TxID}, "%s is %s on the coordinator", tx.TxID, tx.State)
			continue
		}
		if tr != nil {
			if tr.final == outRefused {
				tt.violate("a refused transaction never runs", []string{tr.id}, "%s was refused (%q) but the coordinator lists it %s", tr.id, tr.reason, tx.State)
			} else if outcomeOf(tx.State) != tr.final {
				tt.violate("the coordinator agrees with the outcomes", []string{tr.id}, "%s: outcome %s, coordinator lists %s (%q)", tr.id, tr.final, tx.State, tx.Reason)
			}
		}
		for p, s := range tx.Participants {
			if s.Final() && s != tx.State {
				tt.violate("coordinator and participants agree on every outcome the coordinator remembers", []string{tx.TxID},
					"%s: coordinator %s, its record of %s: %s", tx.TxID, tx.State, p, s)
			}
			if ptx, ok := listed[p][tx.TxID]; ok && ptx.State.Final() && ptx.State != tx.State {
				tt.violate("coordinator and participants agree on every outcome the coordinator remembers", []string{tx.TxID},
					"%s: coordinator %s (%q), %s lists %s (%q)", tx.TxID, tx.State, tx.Reason, p, ptx.State, ptx.Reason)
			}
		}
	}
}
