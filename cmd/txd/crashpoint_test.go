package main

// Crash point test: for every named crash point (internal/crashpoint), a
// cluster (a coordinator and participants B and C, real processes) runs
// the torture test's bank workload with TXD_CRASHPOINT set on one node (two
// for the termination point) until that node kills itself there, restarts
// it without the variable, and holds the cluster to the torture test's
// invariants: every outcome a client was told holds on every participant,
// money is conserved, the coordinator and participants agree, and nothing
// stays in doubt or locked.
//
//	go test -race -run TestCrashPoints ./cmd/txd/
//	go test -race -run 'TestCrashPoints/wal.compact' ./cmd/txd/

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/wire"
)

const (
	crashParallel     = 4                // subtests at once: they mostly wait on timeouts
	crashClients      = 3                // workload clients per subtest
	crashReachBound   = 20 * time.Second // the workload reaches the crash point within this
	crashAfterRestart = 20               // transfers to start after the restart, before the checks
	crashCompact      = 2048             // --compact-bytes for the compaction points: a checkpoint every few transfers
	crashNoCompact    = 64 << 20
)

// crashCase is one crash point on one node.
type crashCase struct {
	points  map[string]string // node id → TXD_CRASHPOINT
	proto   wire.Protocol     // of every transfer
	compact bool              // checkpoint the logs every few transfers
	// either: of these armed nodes, one reaching its point is enough (the
	// others are then stopped cleanly and restarted without it).
	either []string
}

func (cc crashCase) name() string {
	var parts []string
	for _, id := range []string{"COORD", "B", "C"} {
		if p, ok := cc.points[id]; ok {
			parts = append(parts, p+"@"+id)
		}
	}
	return strings.Join(parts, "+") + "/" + string(cc.proto)
}

// crashCases covers every crash point at least once: the coordinator's and
// the participants' with the protocol that reaches them (the points that
// both protocols pass, with both); the WAL's and the checkpoint's on a
// participant and on the coordinator.
func crashCases() []crashCase {
	on := func(node, point string, proto wire.Protocol) crashCase {
		return crashCase{points: map[string]string{node: point}, proto: proto}
	}
	cs := []crashCase{
		on("COORD", crashpoint.CoordBeforePrepare, wire.TwoPC),
		on("COORD", crashpoint.CoordPrepareSome, wire.TwoPC),
		on("COORD", crashpoint.CoordVotesBeforeLog, wire.TwoPC),
		on("COORD", crashpoint.CoordDecisionForced, wire.TwoPC),
		on("COORD", crashpoint.CoordDecisionSome, wire.TwoPC),
		on("COORD", crashpoint.CoordAcksBeforeEnd, wire.TwoPC),
		on("COORD", crashpoint.CoordPrepareSome, wire.ThreePC),
		on("COORD", crashpoint.Coord3PCVotesBeforeLog, wire.ThreePC),
		on("COORD", crashpoint.Coord3PCPreForced, wire.ThreePC),
		on("COORD", crashpoint.Coord3PCPreSome, wire.ThreePC),
		on("COORD", crashpoint.Coord3PCAcksBeforeLog, wire.ThreePC),
		on("COORD", crashpoint.CoordDecisionForced, wire.ThreePC),
		on("COORD", crashpoint.CoordDecisionSome, wire.ThreePC),
		on("B", crashpoint.PartPrepareBeforeLog, wire.TwoPC),
		on("B", crashpoint.PartPreparedForced, wire.TwoPC),
		on("B", crashpoint.PartOutcomeForced, wire.TwoPC),
		on("B", crashpoint.PartPreparedForced, wire.ThreePC),
		on("B", crashpoint.Part3PCPreForced, wire.ThreePC),
		on("B", crashpoint.PartOutcomeForced, wire.ThreePC),
		// The coordinator dies having pre-committed one participant only;
		// a termination leader dies once its outcome is durable, before
		// the others hear it. Usually B leads (the lowest id), but when
		// B's answer misses C's round (a slow machine), C leads: either
		// counts (waiting for B alone failed ~1 run in 4 under -race).
		{points: map[string]string{"COORD": crashpoint.Coord3PCPreSome, "B": crashpoint.Part3PCTerminationKnown,
			"C": crashpoint.Part3PCTerminationKnown}, proto: wire.ThreePC, either: []string{"B", "C"}},
	}
	for _, node := range []string{"B", "COORD"} {
		for _, p := range []string{crashpoint.WALBatchWritten, crashpoint.WALBatchTorn, crashpoint.WALSyncedBeforeNotify} {
			cs = append(cs, on(node, p, wire.TwoPC))
		}
		for _, p := range []string{crashpoint.WALCompactTempWritten, crashpoint.WALCompactTempSynced, crashpoint.WALCompactRenamed, crashpoint.WALCompactDirSynced} {
			c := on(node, p, wire.ThreePC) // 3PC: more records, and PRECOMMITTED in the checkpoints
			c.compact = true
			cs = append(cs, c)
		}
	}
	// Only a participant has a storage engine to make durable first.
	engine := on("B", crashpoint.WALCompactEngineSynced, wire.ThreePC)
	engine.compact = true
	return append(cs, engine)
}

// TestCrashPoints runs every crash case; see the file comment.
func TestCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	cluster.Shared(t) // build once, before the subtests race for it
	start := time.Now()
	cases := crashCases()
	covered := map[string]bool{}
	for _, cc := range cases {
		for _, p := range cc.points {
			covered[p] = true
		}
	}
	for _, p := range crashpoint.Names() {
		if !covered[p] {
			t.Errorf("crash point %s has no case", p)
		}
	}
	// Subtests run from a few goroutines of our own rather than
	// t.Parallel, whose limit is GOMAXPROCS: they spend their time waiting
	// on the protocols' timeouts, not on the CPU.
	sem := make(chan struct{}, crashParallel)
	var wg sync.WaitGroup
	var ran atomic.Int64
	for _, cc := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(cc.name(), func(t *testing.T) {
				ran.Add(1)
				runCrashCase(t, cc)
			})
		}()
	}
	wg.Wait()
	t.Logf("%d of %d crash cases in %v", ran.Load(), len(cases), time.Since(start).Round(time.Millisecond))
}

func runCrashCase(t *testing.T, cc crashCase) {
	o := tortureOpts{seed: uint64(time.Now().UnixNano()), clients: crashClients, proto: cc.proto, compact: crashNoCompact}
	if cc.compact {
		o.compact = crashCompact
	}
	t.Logf("seed %d", o.seed)
	c := cluster.New(t, cluster.Shared(t), cluster.Config{
		PartTimeout:  torturePartTimeout,
		CoordTimeout: tortureCoordTimeout,
	})
	tt := newTorture(t, o, c, []string{"B", "C"})
	var stopOnce sync.Once
	stopClients := func() {
		stopOnce.Do(func() { close(tt.stopClients) })
		tt.clientsDone.Wait()
	}
	t.Cleanup(stopClients) // before the cluster's cleanup stops the nodes

	var ids []string
	for _, p := range c.Parts {
		p.SetFlag("compact-bytes", strconv.FormatInt(o.compact, 10))
		if err := p.Start(); err != nil {
			t.Fatalf("starting participant %s: %v", p.ID, err)
		}
		ids = append(ids, p.ID+"="+p.Addr())
	}
	c.Coord.SetFlag("participants", strings.Join(ids, ","))
	c.Coord.SetFlag("compact-bytes", strconv.FormatInt(o.compact, 10))
	c.StartCoord()
	tt.fund()
	// Every ack of the funding in, so its END is logged: a restarted
	// coordinator would deliver it again, into the crash point.
	cluster.Eventually(t, crashReachBound, "the funding acknowledged by all", func() error {
		st, err := tortureStatus(c.Coord.Addr())
		if err != nil {
			return err
		}
		for _, tx := range st.Transactions {
			if tx.TxID == "fund" {
				for p, s := range tx.Participants {
					if s != wire.StateCommitted {
						return fmt.Errorf("fund: %s is %s", p, s)
					}
				}
				return nil
			}
		}
		return fmt.Errorf("fund not listed")
	})

	// Arm the crash points: stop the nodes cleanly and start them with
	// TXD_CRASHPOINT (funding would have hit them).
	// A single point dies at its first, second or third pass (seeded), so
	// that runs differ in what is in flight around it. Two points run in a
	// chain (the second follows from the first) and die at their first.
	armed := crashNodes(t, c, cc)
	rng := rand.New(rand.NewPCG(o.seed, 0))
	for _, n := range armed {
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
		spec := cc.points[n.ID]
		if len(armed) == 1 {
			spec += "@" + strconv.Itoa(1+rng.IntN(3))
		}
		n.SetCrashPoint(spec)
		if err := n.Start(); err != nil {
			t.Fatalf("starting %s with %s: %v", n.ID, spec, err)
		}
	}
	c.WaitConnected("B", "C")

	for i := range o.clients {
		tt.clientsDone.Add(1)
		go tt.client(i)
	}
	for _, n := range armed {
		if slices.Contains(cc.either, n.ID) {
			continue
		}
		if err := n.WaitCrashPoint(context.Background(), crashReachBound); err != nil {
			t.Fatalf("%v (after %d transfers)", err, tt.count())
		}
		t.Logf("%s died at %s after %d transfers", n.ID, n.CrashPoint(), tt.count())
	}
	if len(cc.either) > 0 {
		waitEither(t, c, cc.either, tt.count)
	}
	for _, n := range armed {
		n.SetCrashPoint("")
		tt.restart(n)
	}
	if tt.brokenHarness() {
		t.Fatalf("restarting: %v", tt.infra)
	}
	for _, n := range armed {
		// The torn write must have been there to repair.
		if cc.points[n.ID] == crashpoint.WALBatchTorn && len(n.LogLines("cut torn tail")) == 0 {
			t.Errorf("%s restarted after %s without cutting a torn tail:\n%s", n.ID, crashpoint.WALBatchTorn, n.LogTail(20))
		}
	}
	// Some load on the recovered cluster, then the checks.
	more := tt.count() + crashAfterRestart
	cluster.Eventually(t, crashReachBound, "the workload goes on after the restart", func() error {
		if n := tt.count(); n < more {
			return fmt.Errorf("%d transfers of %d", n, more)
		}
		return nil
	})
	stopClients()
	tt.heal()
	tt.checkAll(time.Now())
	f := tt.figures()
	t.Logf("%d transfers: %d committed, %d aborted, %d unknown to their clients (then %d committed, %d aborted), %d refused",
		f.txs, f.committed, f.aborted, f.unknown, f.unknownCommitted, f.unknownAborted, f.refused)
	if len(tt.violations) > 0 {
		t.Errorf("%d invariant violations after %s:\n%s", len(tt.violations), cc.name(), tt.describe(tt.violations))
	}
	if len(tt.crashes) > 0 {
		t.Errorf("a node crashed: %v", tt.crashes)
	}
	eitherDeaths := 0
	for _, n := range armed {
		got := n.Crashed()
		if slices.Contains(cc.either, n.ID) {
			if len(got) > 1 {
				t.Errorf("%s: want at most one death at its crash point, got %v", n.ID, got)
			}
			eitherDeaths += len(got)
			continue
		}
		if len(got) != 1 {
			t.Errorf("%s: want one death at its crash point, got %v", n.ID, got)
		}
	}
	if len(cc.either) > 0 && eitherDeaths == 0 {
		t.Errorf("none of %v died at its crash point", cc.either)
	}
}

// waitEither waits until one of the nodes ids dies at its crash point,
// then stops the others that still run (they are restarted without one).
func waitEither(t *testing.T, c *cluster.Cluster, ids []string, count func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type hit struct {
		n   *cluster.Node
		err error
	}
	hits := make(chan hit, len(ids))
	var nodes []*cluster.Node
	for _, n := range c.Nodes() {
		if slices.Contains(ids, n.ID) {
			nodes = append(nodes, n)
			go func() { hits <- hit{n, n.WaitCrashPoint(ctx, crashReachBound)} }()
		}
	}
	var errs []string
	for range nodes {
		h := <-hits
		if h.err == nil {
			t.Logf("%s died at %s after %d transfers", h.n.ID, h.n.CrashPoint(), count())
			cancel()
			for _, o := range nodes {
				if o != h.n && o.Running() {
					_ = o.Stop() // it may die at its own point meanwhile: restarted either way
				}
			}
			return
		}
		errs = append(errs, h.err.Error())
	}
	t.Fatalf("none of %v reached its crash point: %s (after %d transfers)", ids, strings.Join(errs, "; "), count())
}

// crashNodes are the case's nodes that get a crash point.
func crashNodes(t *testing.T, c *cluster.Cluster, cc crashCase) []*cluster.Node {
	var out []*cluster.Node
	for _, n := range c.Nodes() {
		if _, ok := cc.points[n.ID]; ok {
			out = append(out, n)
		}
	}
	if len(out) != len(cc.points) {
		t.Fatalf("case %s names a node the cluster does not have", cc.name())
	}
	return out
}

// count is how many transfers the workload started.
func (tt *torture) count() int {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return len(tt.transfers)
}

// TestCrashPointUnknownName: a daemon given a crash point that does not
// exist refuses to start (a typo must not make a test pass without a
// crash), before it touches its log.
func TestCrashPointUnknownName(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the txd binary; skipped with -short")
	}
	bins := cluster.Shared(t)
	wal := t.TempDir() + "/B.wal"
	for _, spec := range []string{"part.prepared.forcd", crashpoint.PartPreparedForced + "@0"} {
		// Bounded: a txd that ignored the variable would serve forever.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bins.TXD, "participant", "--id", "B", "--port", "0", "--wal", wal)
		cmd.Env = append(os.Environ(), crashpoint.EnvVar+"="+spec)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 || !strings.Contains(string(out), spec) {
			t.Errorf("%s=%s: exit %d (%v), output %q; want exit 2 naming it", crashpoint.EnvVar, spec, code, err, out)
		}
	}
	if _, err := os.Stat(wal); !os.IsNotExist(err) {
		t.Errorf("the log was created: %v", err)
	}
}
