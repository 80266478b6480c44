package main

// The torture test's report: the run's figures, and for the violations a
// dossier of each transaction involved (ledger entry, node states, log
// lines, the nemesis's actions around it).

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

type tortureFigures struct {
	txs, twoPC, threePC, parallel            int
	committed, aborted, unknown, refused     int
	unknownCommitted, unknownAborted         int
	unknownAsked, unknownAsks                int // resolved by asking again during the run; the asks
	abortLocked, abortValidation, abortOther int
	otherReasons                             map[string]int // abort reasons but locks and validation, digits blanked
	unknownWhy                               map[string]int // why clients lost outcomes, digits blanked
	refusedWhy                               map[string]int
	latency                                  []time.Duration // of the first answers that were outcomes
}

// reasonClass blanks the digits of a reason: "no vote from C within 1s"
// and "asked by t3-12 ..." gather in classes.
func reasonClass(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, s)
}

// topClasses lists the most frequent classes, most frequent first.
func topClasses(m map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || (all[i].v == all[j].v && all[i].k < all[j].k) })
	var out []string
	for i, e := range all {
		if i == n {
			out = append(out, fmt.Sprintf("... %d more classes", len(all)-n))
			break
		}
		out = append(out, fmt.Sprintf("%d× %q", e.v, e.k))
	}
	return strings.Join(out, "; ")
}

func (tt *torture) figures() tortureFigures {
	f := tortureFigures{otherReasons: map[string]int{}, unknownWhy: map[string]int{}, refusedWhy: map[string]int{}}
	for _, tr := range tt.transfers {
		f.txs++
		switch tr.proto {
		case wire.ThreePC:
			f.threePC++
		case wire.Parallel:
			f.parallel++
		default:
			f.twoPC++
		}
		if tr.seen == outCommitted || tr.seen == outAborted {
			f.latency = append(f.latency, tr.answered.Sub(tr.sent))
		}
		switch tr.seen {
		case outCommitted:
			f.committed++
		case outAborted:
			f.aborted++
			switch {
			case strings.Contains(tr.reason, "locked by"):
				f.abortLocked++
			case strings.Contains(tr.reason, "would be"):
				f.abortValidation++
			default:
				f.abortOther++
				f.otherReasons[reasonClass(tr.reason)]++
			}
		case outUnknown:
			f.unknown++
			f.unknownAsks += tr.asks
			if tr.resolved == outCommitted || tr.resolved == outAborted {
				f.unknownAsked++
			}
			f.unknownWhy[reasonClass(tr.reason)]++
			switch tr.final {
			case outCommitted:
				f.unknownCommitted++
			case outAborted:
				f.unknownAborted++
			}
		case outRefused:
			f.refused++
			f.refusedWhy[reasonClass(tr.reason)]++
		}
	}
	return f
}

func (tt *torture) report(wall, load time.Duration) {
	t := tt.t
	f := tt.figures()
	tt.nmu.Lock()
	kills, pauses := 0, 0
	var killBy, pauseBy []string
	for _, n := range tt.nodes {
		kills += tt.kills[n.ID]
		pauses += tt.pauses[n.ID]
		killBy = append(killBy, fmt.Sprintf("%s %d", n.ID, tt.kills[n.ID]))
		pauseBy = append(pauseBy, fmt.Sprintf("%s %d", n.ID, tt.pauses[n.ID]))
	}
	var drainMax time.Duration
	for _, d := range tt.drainWaits {
		drainMax = max(drainMax, d)
	}
	tt.nmu.Unlock()

	t.Logf("torture figures (seed %d): wall %v (workload %v); %d transactions (%d 2PC, %d 3PC, %d PARALLEL): "+
		"%d committed, %d aborted (%d lock conflicts, %d validation NO, %d other), "+
		"%d unknown (resolved: %d committed, %d aborted; %d by asking again during the run, %d asks), %d refused; "+
		"%d kills (%s; %d during recovery), %d pauses (%s), %d partitions; %d epochs, 3PC drains at most %v",
		tt.o.seed, wall.Round(time.Millisecond), load.Round(time.Millisecond), f.txs, f.twoPC, f.threePC, f.parallel,
		f.committed, f.aborted, f.abortLocked, f.abortValidation, f.abortOther,
		f.unknown, f.unknownCommitted, f.unknownAborted, f.unknownAsked, f.unknownAsks, f.refused,
		kills, strings.Join(killBy, ", "), tt.recKills, pauses, strings.Join(pauseBy, ", "), tt.partitions, tt.epochs, drainMax.Round(time.Millisecond))

	observedTxs := map[string]bool{}
	for _, m := range tt.observed {
		for id := range m {
			observedTxs[id] = true
		}
	}
	t.Logf("observer: %d participant status polls; %d of %d transfers seen final on a participant", tt.polls, countTransfers(observedTxs, tt.byID), f.txs)
	t.Logf("other aborts: %s", topClasses(f.otherReasons, 8))
	t.Logf("unknowns: %s", topClasses(f.unknownWhy, 5))
	var downs []string
	for _, n := range tt.nodes {
		var sum, worst time.Duration
		for _, d := range tt.restarts[n.ID] {
			sum += d
			worst = max(worst, d)
		}
		if k := len(tt.restarts[n.ID]); k > 0 {
			downs = append(downs, fmt.Sprintf("%s down %v in all (%.0f%%), restarts serve in %v on average, %v at worst",
				n.ID, tt.downFor[n.ID].Round(time.Millisecond), 100*tt.downFor[n.ID].Seconds()/load.Seconds(),
				(sum/time.Duration(k)).Round(time.Millisecond), worst.Round(time.Millisecond)))
		}
	}
	t.Logf("downtime: %s", strings.Join(downs, "; "))
	if len(f.latency) > 0 {
		slices.Sort(f.latency)
		q := func(p float64) time.Duration {
			return f.latency[int(p*float64(len(f.latency)-1))].Round(time.Microsecond)
		}
		t.Logf("latency of an answered transfer: p50 %v, p90 %v, p99 %v, max %v", q(0.5), q(0.9), q(0.99), q(1))
	}
	if f.refused > 0 {
		t.Logf("refusals: %s", topClasses(f.refusedWhy, 5))
	}

	for _, msg := range tt.infra {
		t.Errorf("seed %d: harness: %s", tt.o.seed, msg)
	}
	for _, msg := range tt.crashes {
		t.Errorf("seed %d: a node crashed: %s", tt.o.seed, msg)
	}
	if len(tt.coordStatusFails) > 0 {
		t.Errorf("seed %d: the coordinator's status went unanswered (it was up, not paused; 5s), first %s; "+
			"from then on \"nothing in doubt\" was checked on the participants only, and the coordinator's own list of outcomes was not compared with theirs",
			tt.o.seed, tt.coordStatusFails[0])
	}
	for _, msg := range tt.stuck {
		t.Errorf("seed %d: invariant \"3PC terminates with every node up\" violated %s", tt.o.seed, msg)
	}
	if len(tt.infra) == 0 && (kills < tortureMinKills || f.txs < tortureMinTxs) {
		t.Errorf("seed %d: the run made %d kills over %d transactions in %v; the torture wants at least %d over %d",
			tt.o.seed, kills, f.txs, load.Round(time.Second), tortureMinKills, tortureMinTxs)
	}

	t.Logf("invariant violations: %s", tt.violationsByProto())

	// In the 3PC-pauses mode, violations of 3PC transactions are the
	// documented limit; store-level mismatches are put down to them when
	// there are any.
	any3PC := false
	for _, v := range tt.violations {
		if v.only3PC {
			any3PC = true
		}
	}
	var failing, documented []violation
	for _, v := range tt.violations {
		if tt.o.pauses3PC && (v.only3PC || (len(v.txids) == 0 && any3PC)) {
			documented = append(documented, v)
		} else {
			failing = append(failing, v)
		}
	}
	if tt.o.pauses3PC {
		if len(documented) == 0 {
			t.Logf("3PC with pauses (seed %d): no atomicity violation seen in %d 3PC transactions and %d pauses", tt.o.seed, f.threePC, pauses)
		} else {
			t.Logf("3PC with pauses (seed %d): %d violations of 3PC transactions (a pause past the timeouts is a partition: docs/protocols.md, \"Why 3PC is not safe under partitions\"):\n%s",
				tt.o.seed, len(documented), tt.describe(documented))
		}
	}
	if len(failing) > 0 {
		t.Errorf("seed %d: %d invariant violations:\n%s", tt.o.seed, len(failing), tt.describe(failing))
	}
}

// violationsByProto counts the violations, and those that involve a
// transaction of each protocol (one violation may involve several) or
// none (a store that does not add up).
func (tt *torture) violationsByProto() string {
	by := map[wire.Protocol]int{}
	none := 0
	for _, v := range tt.violations {
		seen := map[wire.Protocol]bool{}
		for _, id := range v.txids {
			if tr := tt.byID[id]; tr != nil {
				seen[tr.proto] = true
			}
		}
		for p := range seen {
			by[p]++
		}
		if len(seen) == 0 {
			none++
		}
	}
	return fmt.Sprintf("%d (involving 2PC %d, 3PC %d, PARALLEL %d; no transaction named %d)",
		len(tt.violations), by[wire.TwoPC], by[wire.ThreePC], by[wire.Parallel], none)
}

// describe lists violations with, for the transactions involved (the first
// few), the ledger entry, each node's state and the nodes' log lines naming
// them, and the nemesis's actions around them.
func (tt *torture) describe(vs []violation) string {
	var b strings.Builder
	byInv := map[string]int{}
	for _, v := range vs {
		byInv[v.invariant]++
	}
	invs := make([]string, 0, len(byInv))
	for inv := range byInv {
		invs = append(invs, inv)
	}
	sort.Strings(invs)
	for _, inv := range invs {
		fmt.Fprintf(&b, "  invariant %q: %d violations\n", inv, byInv[inv])
	}
	const maxShown = 12
	for i, v := range vs {
		if i == maxShown {
			fmt.Fprintf(&b, "  ... %d more\n", len(vs)-maxShown)
			break
		}
		fmt.Fprintf(&b, "- [%s] %s\n", v.invariant, v.detail)
	}
	var ids []string
	for _, v := range vs {
		for _, id := range v.txids {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	const maxDetailed = 5
	for i, id := range ids {
		if i == maxDetailed {
			fmt.Fprintf(&b, "(%d more transactions involved)\n", len(ids)-maxDetailed)
			break
		}
		b.WriteString(tt.dossier(id))
	}
	return b.String()
}

// dossier is everything known about one transaction.
func (tt *torture) dossier(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "=== %s\n", id)
	tr := tt.byID[id]
	if tr != nil {
		fmt.Fprintf(&b, "  ledger: %s\n", tr)
	}
	for _, n := range tt.nodes {
		st, err := tortureStatus(n.Addr())
		state := "not listed"
		switch {
		case err != nil:
			state = "status failed: " + err.Error()
		default:
			for _, tx := range st.Transactions {
				if tx.TxID == id {
					state = fmt.Sprintf("%s %s (%q) %v", tx.Protocol, tx.State, tx.Reason, tx.Participants)
				}
			}
		}
		fmt.Fprintf(&b, "  %s now: %s\n", n.ID, state)
	}
	tt.omu.Lock()
	for _, p := range tt.parts {
		if tx, ok := tt.observed[p][id]; ok {
			fmt.Fprintf(&b, "  %s showed during the run: %s %s (%q)\n", p, tx.Protocol, tx.State, tx.Reason)
		}
	}
	tt.omu.Unlock()
	for _, n := range tt.nodes {
		lines := n.LogLines(id)
		// "t1-2" also matches "t1-23": keep exact ids.
		kept := lines[:0]
		for _, l := range lines {
			if strings.Contains(l, "tx="+id+" ") || strings.HasSuffix(l, "tx="+id) || strings.Contains(l, " "+id+" ") {
				kept = append(kept, l)
			}
		}
		if len(kept) > 15 {
			kept = kept[len(kept)-15:]
		}
		for _, l := range kept {
			fmt.Fprintf(&b, "  %s log: %s\n", n.ID, l)
		}
	}
	if tr != nil {
		from, to := tr.sent.Add(-3*time.Second), tr.answered.Add(3*time.Second)
		if tr.answered.IsZero() {
			to = tr.sent.Add(tortureCallTimeout)
		}
		tt.nmu.Lock()
		for _, e := range tt.timeline {
			if !e.at.Before(from) && !e.at.After(to) {
				fmt.Fprintf(&b, "  nemesis %s: %s\n", clock(e.at), e.what)
			}
		}
		tt.nmu.Unlock()
	}
	return b.String()
}

func countTransfers(ids map[string]bool, byID map[string]*transfer) int {
	n := 0
	for id := range ids {
		if byID[id] != nil {
			n++
		}
	}
	return n
}
