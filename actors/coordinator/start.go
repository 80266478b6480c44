package coordinator

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/incident"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Config configures a coordinator node.
type Config struct {
	NodeID       string
	Listen       string        // host:port to listen on
	Advertise    string        // address participants use to reach us; "" = our port, at the address they see us from
	Participants []string      // "host:port" or "id=host:port"
	WAL          string        // log file path
	Timeout      time.Duration // how long to wait for votes
	Delay        time.Duration // pause between a durable decision and phase two
	Retry        time.Duration // retransmission interval for unanswered phase messages
	MaxInflight  int           // transactions in flight before new ones get "busy"
	KeepOutcomes int           // finished transactions remembered (retries of their ids, status)
	KeepBytes    int64         // estimated memory those may hold; the oldest go first when over either bound
	CompactBytes int64         // checkpoint the log after this many bytes appended
	// WALBoundInterval: how often, at most, the log's control file records
	// its durable end (walstore.Options.BoundInterval; 0: 1 s; negative:
	// only at start, checkpoint and stop).
	WALBoundInterval time.Duration
	NoSync           bool                 // UNSAFE: skip fsync (benchmarks)
	SyncFunc         func(*os.File) error // replaces the log's fsync (fault-injection tests only)
	Logger           *slog.Logger
	Fatal            func(error)    // called when the node must stop (fsync failure, broken invariant)
	TLS              *transport.TLS // mutual TLS on every connection (its name must be NodeID); nil: plain TCP

	// Metrics: Prometheus metrics (metrics.New); nil: off.
	Metrics *metrics.Node

	// Clients bounds client connections; the configured participants'
	// connections are not clients.
	Clients node.ClientLimits
}

func (cfg *Config) setDefaults() {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Retry <= 0 {
		cfg.Retry = 250 * time.Millisecond
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 10000
	}
	if cfg.KeepOutcomes <= 0 {
		cfg.KeepOutcomes = 100000
	}
	if cfg.KeepBytes <= 0 {
		cfg.KeepBytes = DefaultKeepBytes
	}
	if cfg.CompactBytes == 0 {
		cfg.CompactBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Fatal == nil {
		cfg.Fatal = func(err error) { panic(err) }
	}
}

// DefaultKeepBytes bounds the estimated memory of the outcome window: about
// 100k outcomes with short reasons fit (--keep-outcomes binds first), while
// long reasons cannot grow it further.
const DefaultKeepBytes = 128 << 20

// Node is a running coordinator node.
type Node struct {
	engine   *actor.Engine
	nodeID   string
	logger   *slog.Logger
	boot     int64 // unix ns, for status
	wal      *walwriter.Writer
	shards   []*actor.PID
	inflight *protocol.Inflight
	log      *walstore.Log
	server   *transport.Server
	desk     *node.StatusDesk
	cluster  cluster
	Stats    *walwriter.Stats
	Wire     *transport.Stats // what this node's connections send
	// reachStop and reachDone stop watchReach (reach.go).
	reachStop chan struct{}
	reachDone chan struct{}
}

// Start replays the log, starts the actors, connects to the
// participants and starts listening.
func Start(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := wire.CheckID("node id", cfg.NodeID); err != nil {
		return nil, &node.ConfigError{Err: err}
	}
	specs, err := parsePeers(cfg.Participants)
	if err != nil {
		return nil, &node.ConfigError{Err: err}
	}
	if err := cfg.Metrics.Claim(); err != nil {
		return nil, &node.ConfigError{Err: err}
	}
	// The window is held twice: the shards' Coordinators answer from it
	// and the log model keeps it for checkpoints; they share the byte
	// bound about as their measured sizes do (3.6:1, TestOutcomeCostMeasured
	// and TestLoggedCostMeasured), so that the default keeps
	// --keep-outcomes in both.
	clog := protocol.NewCoordLog(cfg.KeepOutcomes).LimitBytes(cfg.KeepBytes / 4)
	tr := trace.New(trace.DefaultTxns, time.Now().UnixNano())
	wlog, info, err := walstore.Open(cfg.WAL, walstore.Options{NoSync: cfg.NoSync, Logger: cfg.Logger, SyncFunc: cfg.SyncFunc, AfterRewriteStep: walwriter.RewriteCrashHook(), BoundInterval: cfg.WALBoundInterval}, func(r walstore.Record) error {
		rec, err := walwriter.Decode(r)
		if err != nil {
			return err
		}
		walwriter.TraceReplayed(tr, rec, true)
		return clog.Apply(rec)
	})
	if err != nil {
		return nil, err
	}
	// The shards recover from a copy: from now on the log model belongs to
	// the WAL writer's flusher, which keeps it current for checkpoints.
	var recovered []protocol.LoggedTx
	unfinished := 0
	for _, t := range clog.All() {
		recovered = append(recovered, *t)
		if !t.Ended {
			unfinished++
		}
	}
	cfg.Logger.Info("wal replayed", "path", cfg.WAL, "records", info.Records, "transactions", len(recovered), "unfinished", unfinished)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		wlog.Close()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	engine, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		ln.Close()
		wlog.Close()
		return nil, err
	}
	n := &Node{engine: engine, nodeID: cfg.NodeID, logger: cfg.Logger, boot: time.Now().UnixNano(), log: wlog,
		inflight: protocol.NewInflight(cfg.MaxInflight),
		Stats:    &walwriter.Stats{}, Wire: &transport.Stats{Msgs: cfg.Metrics.MsgCounts()}}
	n.wal = walwriter.Start(wlog, walwriter.Config{Stats: n.Stats, Metrics: cfg.Metrics, Fatal: cfg.Fatal,
		Shadow: clog, CompactAt: cfg.CompactBytes, Trace: tr, Engine: engine, Logger: cfg.Logger})

	// The shards' PIDs are fixed by their kind and id, so connections can
	// route to them before they are spawned (anything earlier is
	// retransmitted).
	nshards := runtime.GOMAXPROCS(0)
	for i := range nshards {
		n.shards = append(n.shards, actor.NewPID(engine.Address(), "txns/"+shardID(cfg.NodeID, i)))
	}
	n.desk = node.NewStatusDeskFunc(n.status, cfg.Logger)
	rt := &router{engine: engine, shards: n.shards, seed: maphash.MakeSeed(), logger: cfg.Logger, trace: tr, nodeID: cfg.NodeID, desk: n.desk}
	self := wire.Hello{Version: wire.Version, NodeID: cfg.NodeID, Role: wire.RoleCoordinator}
	for _, s := range specs {
		addr := s.addr
		n.cluster = append(n.cluster, &peerInfo{fixedID: s.id, addr: addr, peer: transport.NewPeer(transport.PeerConfig{
			Addr: addr, Self: self, Handler: rt, Logger: cfg.Logger, Stats: n.Wire, TLS: cfg.TLS, ExpectID: s.id,
			OnState: func(_ *transport.Peer, up bool, remote wire.HelloAck) {
				// At debug: reach.go logs a participant that stays away.
				cfg.Logger.Debug("participant connection", "addr", addr, "id", remote.NodeID, "up", up)
			},
		})})
	}
	rt.cluster.Store(&n.cluster)

	advertise := cfg.Advertise
	if advertise == "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		advertise = ":" + port
	}
	incidents := incident.New(cfg.Logger)
	n.spawnShards(cfg, advertise, rt, recovered, &host{nodeID: cfg.NodeID, wal: n.wal, cluster: n.cluster,
		logger: cfg.Logger, trace: tr, metrics: cfg.Metrics, incidents: incidents})

	n.server = transport.NewServer(ln, transport.ServerConfig{
		Self:    wire.HelloAck{NodeID: cfg.NodeID, Role: wire.RoleCoordinator},
		Handler: rt, Logger: cfg.Logger, Stats: n.Wire, TLS: cfg.TLS,
		Known: n.cluster.knows, MaxClients: cfg.Clients.Max, IdleTimeout: cfg.Clients.IdleTimeout,
		ClientSendBytes: cfg.Clients.SendBytes, ClientReadBytes: cfg.Clients.ReadBytes,
	})
	n.registerMetrics(cfg.Metrics, cfg.Logger)
	n.reachStop, n.reachDone = make(chan struct{}), make(chan struct{})
	go n.watchReach(incidents, n.reachStop, n.reachDone)
	go n.server.Serve()
	return n, nil
}

func shardID(nodeID string, i int) string { return fmt.Sprintf("%s-%d", nodeID, i) }

// spawnShards starts one shard per core, each with its own
// protocol.Coordinator for the ids that hash to it, and its part of the
// recovered log. The outcome window is split among them (ids spread
// evenly), and they share the node's bound on transactions in flight.
func (n *Node) spawnShards(cfg Config, advertise string, rt *router, recovered []protocol.LoggedTx, h *host) {
	parts := make([][]protocol.LoggedTx, len(n.shards))
	for _, r := range recovered {
		i := slices.Index(n.shards, rt.shardOf(r.ID))
		parts[i] = append(parts[i], r)
	}
	per := len(n.shards)
	core := protocol.CoordinatorConfig{
		CoordConfig: protocol.CoordConfig{NodeID: cfg.NodeID, Addr: advertise, Vote: cfg.Timeout, Delay: cfg.Delay},
		Retry:       cfg.Retry, Inflight: n.inflight,
		Keep: (cfg.KeepOutcomes + per - 1) / per, KeepBytes: (cfg.KeepBytes - cfg.KeepBytes/4) / int64(per),
	}
	guard := func(p actor.Producer) actor.Producer { return hollywood.CrashOnPanic(p, cfg.Logger, cfg.Fatal) }
	for i := range n.shards {
		s := &shard{host: h, core: protocol.NewCoordinator(core), recovered: parts[i]}
		n.engine.Spawn(guard(func() actor.Receiver { return s }), "txns",
			actor.WithID(shardID(cfg.NodeID, i)), actor.WithInboxSize(1024))
	}
}

// Addr is where the coordinator listens.
func (n *Node) Addr() string { return n.server.Addr().String() }

// Close stops the node: no new connections, actors stopped, log closed.
func (n *Node) Close() error {
	steps := node.NewSteps(n.logger)
	n.Drain(5 * time.Second)
	steps.Done("drain")
	close(n.reachStop)
	<-n.reachDone
	n.server.Close()
	n.desk.Close()
	steps.Done("listener")
	for _, p := range n.cluster {
		p.peer.Close()
	}
	steps.Done("participant connections")
	for _, pid := range n.shards {
		hollywood.Poison(n.engine, pid)
	}
	steps.Done("shards")
	n.wal.Close()
	err := n.log.Close()
	steps.Done("log")
	return err
}

// registerMetrics wires a coordinator's metrics.
func (n *Node) registerMetrics(m *metrics.Node, logger *slog.Logger) {
	running := func() (int, error) { return n.inflight.Running(), nil }
	node.RegisterMetrics(m, logger, running, n.Stats, n.Wire, func() ([]metrics.Peer, error) {
		out := make([]metrics.Peer, len(n.cluster))
		for i, p := range n.cluster {
			out[i] = metrics.Peer{ID: p.id(), Out: true, Up: p.peer.Connected()}
		}
		return out, nil
	})
}
