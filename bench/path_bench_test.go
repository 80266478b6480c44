package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// BenchmarkCommitPath shows where a lone commit's time goes. It runs
// transactions one at a time, then reads back every node's trace of each
// (the same trace `txcli trace` draws: messages stamped where they are
// read and sent, records where they became durable) and lays the events
// on one time line from the coordinator's receipt of START. All nodes run
// in this process, so their clocks are one clock.
//
// The log lists each event's median offset; the metrics split the
// client's wait into the fsyncs it waits for and the rest (wire, actor
// hand-offs, encoding): what a faster disk cannot buy back. The fsyncs
// are the slower participant's PREPARE received → PREPARED durable, then
// in 2PC the coordinator's last vote → decision durable, in 3PC the
// slower participant's PRE-COMMIT received → PRECOMMIT durable (3PC
// answers the client before its decision is logged).
func BenchmarkCommitPath(b *testing.B) {
	for _, proto := range []wire.Protocol{wire.TwoPC, wire.ThreePC} {
		b.Run(string(proto), func(b *testing.B) {
			c := startCluster(b, false)
			cl := c.client(b)
			prefix := fmt.Sprintf("path%d-", runID.Add(1))
			total := make([]time.Duration, b.N)
			b.ResetTimer()
			for i := range b.N {
				txid := fmt.Sprintf("%s%d", prefix, i)
				t0 := time.Now()
				res, err := cl.Start(context.Background(), txid, proto, []wire.Op{{Kind: wire.OpAdd, Key: txid, Delta: 1}})
				if err != nil || res.Outcome != wire.StateCommitted {
					b.Fatalf("%s: %v %v", txid, res, err)
				}
				total[i] = time.Since(t0)
			}
			b.StopTimer()
			if b.N >= 100 { // not the one-transaction sizing run
				reportPath(b, c, proto, prefix, total)
			}
		})
	}
}

// reportPath fetches the traces of the last transactions run (the rings
// keep the newest ones) and reports the medians.
func reportPath(b *testing.B, c *cluster, proto wire.Protocol, prefix string, total []time.Duration) {
	nodes := []*transport.Client{c.client(b)}
	for _, p := range c.parts {
		cl, err := transport.DialClient(context.Background(), p.Addr())
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		nodes = append(nodes, cl)
	}
	const maxSampled = 2000
	offsets := map[string][]time.Duration{} // event label → offsets from START
	var fsyncWait, rest []time.Duration
	for i := max(0, len(total)-maxSampled); i < len(total); i++ {
		txid := fmt.Sprintf("%s%d", prefix, i)
		var events []pathEvent
		for _, n := range nodes {
			tr, err := n.Trace(context.Background(), txid)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range tr.Events {
				events = append(events, pathEvent{node: tr.NodeID, TraceEvent: e})
			}
		}
		p, ok := criticalPath(proto, events)
		if !ok {
			continue // a trace cut short (should not happen at this size)
		}
		for label, at := range p.offsets {
			offsets[label] = append(offsets[label], at)
		}
		fsyncWait = append(fsyncWait, p.fsyncWait)
		rest = append(rest, total[i]-p.fsyncWait)
	}
	if len(fsyncWait) == 0 {
		b.Fatal("no complete trace")
	}
	b.ReportMetric(float64(p50(total).Microseconds()), "p50-µs")
	b.ReportMetric(float64(p50(fsyncWait).Microseconds()), "fsync-wait-µs")
	b.ReportMetric(float64(p50(rest).Microseconds()), "rest-µs")
	type row struct {
		label string
		at    time.Duration
	}
	var rows []row
	for l, v := range offsets {
		rows = append(rows, row{l, p50(v)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].at < rows[j].at })
	var sb strings.Builder
	fmt.Fprintf(&sb, "median offsets from the coordinator's receipt of START (%d transactions):\n", len(fsyncWait))
	for _, r := range rows {
		fmt.Fprintf(&sb, "  %+8.1f µs  %s\n", float64(r.at.Nanoseconds())/1e3, r.label)
	}
	b.Log(sb.String())
}

type pathEvent struct {
	node string
	wire.TraceEvent
}

type commitPath struct {
	offsets   map[string]time.Duration
	fsyncWait time.Duration
}

// criticalPath places one transaction's events relative to the
// coordinator's START and measures its fsync waits. Participants are named
// by role in the path ("first"/"last" to hear PREPARE) rather than by id,
// so that the two can swap between transactions without splitting rows.
func criticalPath(proto wire.Protocol, events []pathEvent) (commitPath, bool) {
	sort.Slice(events, func(i, j int) bool { return events[i].Time < events[j].Time })
	var start, lastVote, decided int64
	prep, pre := participantWaits{}, participantWaits{}
	for _, e := range events {
		switch {
		case e.node == "COORD" && e.Kind == wire.TraceRecv && e.What == "START":
			start = e.Time
		case e.node == "COORD" && e.Kind == wire.TraceRecv && e.What == "VOTE YES":
			lastVote = e.Time
		case e.node == "COORD" && e.Kind == wire.TraceForce && e.What == "DECISION" && decided == 0:
			decided = e.Time
		case e.node != "COORD":
			prep.note(e, "PREPARE", "PREPARED")
			pre.note(e, "PRE-COMMIT", "PRECOMMIT")
		}
	}
	p := commitPath{offsets: map[string]time.Duration{}}
	first, ok := prep.slowest()
	if start == 0 || !ok {
		return commitPath{}, false
	}
	second, ok := pre.slowest()
	if proto == wire.TwoPC {
		second, ok = time.Duration(decided-lastVote), lastVote > 0 && decided > lastVote
	}
	if !ok {
		return commitPath{}, false
	}
	p.fsyncWait = first + second
	order := map[string]string{}
	for _, e := range events {
		if e.node != "COORD" && e.What == "PREPARE" && e.Kind == wire.TraceRecv && order[e.node] == "" {
			if len(order) == 0 {
				order[e.node] = "first participant"
			} else {
				order[e.node] = "last participant"
			}
		}
	}
	seen := map[string]int{}
	for _, e := range events {
		who := e.node
		if r, ok := order[who]; ok {
			who = r
		}
		peer := e.Peer
		if r, ok := order[peer]; ok {
			peer = r
		}
		label := fmt.Sprintf("%s %s %s", who, e.Kind, e.What)
		if peer != "" {
			label += " (" + peer + ")"
		}
		seen[label]++
		if seen[label] > 1 {
			label += fmt.Sprintf(" #%d", seen[label])
		}
		p.offsets[label] = time.Duration(e.Time - start)
	}
	return p, true
}

// participantWaits holds, per participant, when a message arrived and when
// the record it asks for became durable.
type participantWaits struct{ recv, durable map[string]int64 }

func (w *participantWaits) note(e pathEvent, msg, rec string) {
	if w.recv == nil {
		w.recv, w.durable = map[string]int64{}, map[string]int64{}
	}
	switch {
	case e.Kind == wire.TraceRecv && e.What == msg:
		w.recv[e.node] = e.Time
	case e.Kind == wire.TraceForce && e.What == rec:
		w.durable[e.node] = e.Time
	}
}

// slowest is the wait of the participant whose record became durable
// last: it holds the path.
func (w *participantWaits) slowest() (time.Duration, bool) {
	var last string
	for n, t := range w.durable {
		if last == "" || t > w.durable[last] {
			last = n
		}
	}
	recv, ok := w.recv[last]
	if last == "" || !ok {
		return 0, false
	}
	return time.Duration(w.durable[last] - recv), true
}
