package main

// Crash torture test: a bank workload on a real cluster (a coordinator and
// participants B, C and D, real processes on loopback) while a nemesis
// kill -9s, restarts and pauses (SIGSTOP/SIGCONT) the nodes at random; then,
// after healing, checks that money was neither created nor destroyed, that
// every transfer is applied on both sides or on neither, that every outcome
// a client was told holds, and that nothing stays in doubt or locked.
//
//	go test -race -run Torture ./cmd/txd/                     # short: ~45 s of load
//	TXD_TORTURE=10m go test -race -run Torture -timeout 30m ./cmd/txd/
//	TXD_TORTURE_SEED=12345 ...                                # replay a seed's choices
//	TXD_TORTURE_3PC_PAUSES=1 go test -race -run Torture3PCPauses ./cmd/txd/
//	TXD_TORTURE_PARTITIONS=1 ...                              # network partitions too (epochs without 3PC)
//
// The workload runs 2PC, 3PC and PARALLEL transactions. Kills are safe for
// every protocol: any violation under kills is a bug. Pauses and partitions
// are safe for 2PC and PARALLEL only: a node paused or cut off past the
// timeouts looks crashed to 3PC's termination protocol while it is not,
// which is the partition docs/protocols.md warns about. By default the run
// alternates epochs: "mixed" epochs run all three protocols with kills
// only; "2PC+PARALLEL" epochs run no 3PC, with kills, pauses and (with
// TXD_TORTURE_PARTITIONS=1) partitions, and begin only once no 3PC
// transaction is in doubt anywhere. TestTorture3PCPauses pauses freely
// with 3PC in the mix and reports (t.Logf, not a failure) the atomicity
// violations of 3PC transactions it sees: the documented limit, measured.
// Violations of 2PC and PARALLEL transactions fail it as they fail
// TestTorture.
//
// The run's parts: torture_workload_test.go (the transfers and the clients
// that run them), torture_nemesis_test.go (the schedule of faults),
// torture_process_test.go (kill, restart, pause, resume),
// torture_observe_test.go (what the nodes show), torture_check_test.go (the
// invariants after healing), torture_report_test.go (figures, dossiers).

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// Environment knobs.
const (
	tortureEnv        = "TXD_TORTURE"            // how long the workload runs (a Go duration); default tortureShort
	tortureSeedEnv    = "TXD_TORTURE_SEED"       // the seed of every random choice; default the clock
	torturePausesEnv  = "TXD_TORTURE_3PC_PAUSES" // 1: run TestTorture3PCPauses
	tortureClientsEnv = "TXD_TORTURE_CLIENTS"    // concurrent clients; default tortureClients
	tortureCompactEnv = "TXD_TORTURE_COMPACT"    // nodes' --compact-bytes; default tortureCompact
	// 1: a partition proxy before every node, and network partitions
	// among the nemesis's faults in the epochs without 3PC
	tortureNetEnv = "TXD_TORTURE_PARTITIONS"
)

// The workload and the nemesis.
const (
	tortureShort     = 45 * time.Second // default workload duration
	tortureMinKills  = 50               // the run goes on until it made this many kills...
	tortureMinTxs    = 2000             // ...over at least this many transactions
	tortureClients   = 8
	tortureAccounts  = 10        // acct0..acct9 on every participant
	tortureInitial   = 300       // each account's opening balance: low enough that some debits are refused
	tortureMaxAmount = 50        // transfers move 1..50
	tortureCompact   = 256 << 10 // nodes' --compact-bytes: small, so that log checkpoints happen often, under the kills

	torturePartTimeout  = 300 * time.Millisecond // participants' --timeout
	tortureCoordTimeout = time.Second            // coordinator's --timeout (vote wait)
	torturePauseMin     = 600 * time.Millisecond // pauses last longer than the timeouts
	torturePauseMax     = 1500 * time.Millisecond

	tortureMaxRate     = 200              // new transfers per second, at most, all clients together
	tortureCallTimeout = 15 * time.Second // one Start; longer than any pause
	// The coordinator remembers the outcomes of its last --keep-outcomes
	// finished transactions; an id older than that runs again when it is
	// started again (docs/txcli.md, "Transactions"). The final check starts the most recent
	// tortureCheckWindow transfers again, well inside the window.
	tortureKeepOutcomes = 100000
	tortureCheckWindow  = 20000
	tortureHealBound    = 30 * time.Second // nothing in doubt, nothing locked, this long after healing
	tortureStartBound   = 10 * time.Second // a node serves this long after its launch
)

var tortureParts = []string{"B", "C", "D"}

// tortureOpts is one run's configuration.
type tortureOpts struct {
	seed       uint64
	duration   time.Duration // of the workload, before the minimums extend it
	maxRun     time.Duration // the workload never runs longer than this
	clients    int
	compact    int64
	pauses3PC  bool // pause with 3PC in the mix (report 3PC violations, do not fail on them)
	partitions bool // proxies before the nodes; partitions in the epochs without 3PC
	// proto, if set, is the protocol of every transfer (while allowed);
	// else a third each run 2PC, 3PC and PARALLEL. The crash point test
	// sets it.
	proto wire.Protocol
}

func tortureConfig(t *testing.T, pauses3PC bool) tortureOpts {
	t.Helper()
	o := tortureOpts{duration: tortureShort, clients: tortureClients, compact: tortureCompact, pauses3PC: pauses3PC}
	if s := os.Getenv(tortureEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration such as 10m", tortureEnv, s)
		}
		o.duration = d
	}
	o.maxRun = max(3*o.duration, o.duration+2*time.Minute)
	o.partitions = os.Getenv(tortureNetEnv) == "1"
	o.seed = uint64(time.Now().UnixNano())
	if s := os.Getenv(tortureSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", tortureSeedEnv, s)
		}
		o.seed = v
	}
	if s := os.Getenv(tortureClientsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("%s=%q: want a positive integer", tortureClientsEnv, s)
		}
		o.clients = v
	}
	if s := os.Getenv(tortureCompactEnv); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an integer (bytes; negative: never checkpoint)", tortureCompactEnv, s)
		}
		o.compact = v
	}
	return o
}

// TestTorture: kills of every node with 2PC, 3PC and PARALLEL mixed, and
// pauses (and partitions) while the workload runs no 3PC. Any invariant
// violation fails it.
func TestTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("crash torture test: real processes for a minute or more; skipped with -short")
	}
	runTorture(t, tortureConfig(t, false))
}

// TestTorture3PCPauses (only with TXD_TORTURE_3PC_PAUSES=1): kills and
// pauses of every node with all three protocols mixed throughout. Atomicity
// violations of 3PC transactions are reported with t.Logf: a pause longer
// than the timeouts is a partition, which 3PC does not survive (docs/protocols.md).
func TestTorture3PCPauses(t *testing.T) {
	if testing.Short() {
		t.Skip("crash torture test: real processes for a minute or more; skipped with -short")
	}
	if os.Getenv(torturePausesEnv) != "1" {
		t.Skipf("set %s=1 to pause nodes with 3PC in the mix (3PC's documented limit)", torturePausesEnv)
	}
	runTorture(t, tortureConfig(t, true))
}

// torture is one run: the cluster, the ledger of transfers, the clients
// and the nemesis.
type torture struct {
	t     *testing.T
	o     tortureOpts
	c     *cluster.Cluster
	nodes []*cluster.Node // coordinator first
	parts []string        // the participants' ids: tortureParts, or the crash point test's
	begun time.Time

	mu        sync.Mutex // protects the ledger
	transfers []*transfer
	byID      map[string]*transfer

	// The epoch: whether clients may start 3PC transactions. Clients hold
	// modeMu (read) while they check allow3PC and count themselves in
	// inflight3PC, so that once the nemesis has cleared allow3PC (write)
	// no new 3PC transaction starts and inflight3PC only falls.
	modeMu      sync.RWMutex
	allow3PC    bool
	inflight3PC atomic.Int64

	paceMu   sync.Mutex
	paceNext time.Time // when the next transfer may start

	stopClients chan struct{} // closed: clients finish their call and return
	clientsDone sync.WaitGroup

	// The nemesis's figures and timeline.
	nmu        sync.Mutex
	kills      map[string]int             // by node id
	recKills   int                        // kills during recovery (before the node served)
	restarts   map[string][]time.Duration // how long each restart took to serve, by node id
	downSince  map[string]time.Time       // when each node that is down was killed
	downFor    map[string]time.Duration   // how long each node was down in all
	pauses     map[string]int
	partitions int
	epochs     int
	timeline   []event
	crashes    []string       // nodes that died without being killed
	crashSeen  map[string]int // crashes reported, by node id
	infra      []string       // harness failures (a node that would not start)
	drainWaits []time.Duration
	stuck      []string // 3PC transactions still in doubt with every node up, at an epoch change
	// The coordinator's status requests that went unanswered while it ran
	// and served: after the first, inDoubt asks only the participants.
	coordStatusFails []string

	// What the participants showed of each transaction over the run
	// (observe): they forget ended transactions and list only the last
	// 1000 forgotten ones, so the final status alone would miss most.
	omu      sync.Mutex
	observed map[string]map[string]wire.TxStatus // participant → id → first final state seen
	polls    int

	violations []violation
}

// event is one line of the nemesis's timeline.
type event struct {
	at   time.Time
	what string
}

// violation is one broken invariant.
type violation struct {
	invariant string
	detail    string
	txids     []string
	only3PC   bool // every transaction involved ran 3PC
}

func runTorture(t *testing.T, o tortureOpts) {
	start := time.Now()
	t.Logf("torture seed %d (replay the choices with %s=%d); workload %v, %d clients, pauses with 3PC: %v, partitions: %v, --compact-bytes %d",
		o.seed, tortureSeedEnv, o.seed, o.duration, o.clients, o.pauses3PC, o.partitions, o.compact)
	bins := cluster.Shared(t)

	c := cluster.New(t, bins, cluster.Config{
		Participants: tortureParts,
		PartTimeout:  torturePartTimeout,
		CoordTimeout: tortureCoordTimeout,
		Proxied:      o.partitions,
	})
	tt := newTorture(t, o, c, tortureParts)
	// Stops the goroutines and resumes every node. Registered after the
	// cluster's cleanup, so it runs before it: a node left paused by a
	// failing test would ignore the SIGTERM that stops it.
	stopNemesis := make(chan struct{})
	var nemesisDone sync.WaitGroup
	var stopOnce sync.Once
	stopAll := func() {
		stopOnce.Do(func() {
			close(stopNemesis)
			close(tt.stopClients)
		})
		nemesisDone.Wait()
		tt.clientsDone.Wait()
		tt.healNet()
		for _, n := range tt.nodes {
			n.Resume() //nolint:errcheck // best effort; Stop reports a node that stays stopped
		}
	}
	t.Cleanup(stopAll)

	var ids []string
	for _, p := range c.Parts {
		p.SetFlag("compact-bytes", strconv.FormatInt(o.compact, 10))
		if err := p.Start(); err != nil {
			t.Fatalf("seed %d: starting participant %s: %v", o.seed, p.ID, err)
		}
		addr := p.Addr()
		if o.partitions {
			addr = c.ProxyAddr(p.ID)
		}
		ids = append(ids, p.ID+"="+addr)
	}
	// Participant ids are configured, not learned from handshakes: a
	// coordinator restarted while a participant is down still knows it.
	c.Coord.SetFlag("participants", strings.Join(ids, ","))
	c.Coord.SetFlag("compact-bytes", strconv.FormatInt(o.compact, 10))
	c.Coord.SetFlag("keep-outcomes", strconv.Itoa(tortureKeepOutcomes))
	c.StartCoord()

	tt.fund()
	tt.begun = time.Now()

	for i := range o.clients {
		tt.clientsDone.Add(1)
		go tt.client(i)
	}
	nemesisDone.Add(2)
	go func() {
		defer nemesisDone.Done()
		tt.nemesis(stopNemesis)
	}()
	go func() {
		defer nemesisDone.Done()
		tt.observe(stopNemesis)
	}()

	// The workload runs for the duration, and on until the minimums.
	for !tt.brokenHarness() && time.Since(tt.begun) < o.maxRun &&
		(time.Since(tt.begun) < o.duration || !tt.enough()) {
		time.Sleep(100 * time.Millisecond)
	}
	loadTime := time.Since(tt.begun)
	stopAll()
	tt.heal()
	healed := time.Now()
	t.Logf("seed %d: workload stopped after %v; healed at %s", o.seed, loadTime.Round(time.Millisecond), clock(healed))
	tt.checkAll(healed)
	tt.report(time.Since(start), loadTime)
}

// newTorture is a run on cluster c (not started) of participants parts.
func newTorture(t *testing.T, o tortureOpts, c *cluster.Cluster, parts []string) *torture {
	return &torture{t: t, o: o, c: c, nodes: c.Nodes(), parts: parts, byID: map[string]*transfer{},
		kills: map[string]int{}, pauses: map[string]int{}, crashSeen: map[string]int{},
		restarts: map[string][]time.Duration{}, downSince: map[string]time.Time{}, downFor: map[string]time.Duration{},
		observed: map[string]map[string]wire.TxStatus{}, stopClients: make(chan struct{}), allow3PC: true}
}

// enough: the minimum kills and transactions are reached.
func (tt *torture) enough() bool {
	tt.nmu.Lock()
	kills := 0
	for _, k := range tt.kills {
		kills += k
	}
	tt.nmu.Unlock()
	tt.mu.Lock()
	txs := len(tt.transfers)
	tt.mu.Unlock()
	return kills >= tortureMinKills && txs >= tortureMinTxs
}

func (tt *torture) brokenHarness() bool {
	tt.nmu.Lock()
	defer tt.nmu.Unlock()
	return len(tt.infra) > 0
}
