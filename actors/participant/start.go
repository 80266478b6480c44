package participant

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
	"github.com/txd/txd/actors/incident"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/trace"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/walstore"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Config configures a participant node.
type Config struct {
	NodeID string
	Listen string // host:port to listen on
	WAL    string // log file path
	// KV is the storage engine's directory, which holds the applied data
	// (engine.go); "": the WAL path with ".kv" appended.
	KV      string
	Timeout time.Duration // how long a READY transaction waits before asking for its outcome
	// CompactBytes: checkpoint the log after this many bytes appended (0:
	// 64 MiB; negative: never): the engine is made durable and the log
	// rewritten with what it still needs (the transactions it holds).
	CompactBytes int64
	// WALBoundInterval: how often, at most, the log's control file records
	// its durable end (walstore.Options.BoundInterval; 0: 1 s; negative:
	// only at start, checkpoint and stop).
	WALBoundInterval time.Duration
	NoSync           bool // UNSAFE: skip fsync (benchmarks)
	// SyncFunc replaces the log's fsync (fault-injection tests only).
	SyncFunc func(*os.File) error
	Logger   *slog.Logger
	Fatal    func(error)
	TLS      *transport.TLS // mutual TLS on every connection, accepted or dialed (its name must be NodeID); nil: plain TCP
	// Coordinators are the coordinator ids this participant takes protocol
	// messages from (auth.go); empty: any, with a warning at start.
	// With TLS the id is proven by the certificate; without, only claimed.
	Coordinators []string

	// Metrics: Prometheus metrics (metrics.New); nil: off.
	Metrics *metrics.Node

	// Clients bounds client connections; the coordinator(s) and member
	// participants are not clients (connlimits.go in wire).
	Clients node.ClientLimits

	// DoubtWarn: a transaction in doubt this long is logged (0:
	// node.DefaultDoubtWarn).
	DoubtWarn time.Duration
}

// Node is a running participant node.
type Node struct {
	engine *actor.Engine
	logger *slog.Logger
	pid    *actor.PID
	wal    *walwriter.Writer
	log    *walstore.Log
	store  *engineStore
	server *transport.Server
	desk   *node.StatusDesk
	Stats  *walwriter.Stats
	Wire   *transport.Stats // what this node's connections send
}

// Start replays the log (rebuilding the store, the in-doubt
// transactions and their locks), starts the actors and starts listening.
func Start(cfg Config) (*Node, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Fatal == nil {
		cfg.Fatal = func(err error) { panic(err) }
	}
	if err := wire.CheckID("node id", cfg.NodeID); err != nil {
		return nil, &node.ConfigError{Err: err}
	}
	if err := cfg.Metrics.Claim(); err != nil {
		return nil, &node.ConfigError{Err: err}
	}
	if cfg.CompactBytes == 0 {
		cfg.CompactBytes = 64 << 20
	}
	for _, id := range cfg.Coordinators {
		if err := wire.CheckID("coordinator id", id); err != nil {
			return nil, &node.ConfigError{Err: err}
		}
	}
	policy := newPartPolicy(cfg.NodeID, cfg.Coordinators)
	if len(cfg.Coordinators) == 0 {
		cfg.Logger.Warn("accepting PREPARE and outcomes from a coordinator of any id: name yours with --coordinator to refuse others")
	}
	if cfg.KV == "" {
		cfg.KV = cfg.WAL + ".kv"
	}
	tr := trace.New(trace.DefaultTxns, time.Now().UnixNano())
	r, err := recoverState(cfg, tr)
	if err != nil {
		return nil, err
	}
	fsm, wlog, info := r.fsm, r.log, r.info
	txs := fsm.Transactions()
	inDoubt := 0
	for _, t := range txs {
		if !t.State.Final() {
			inDoubt++
		}
	}
	cfg.Logger.Info("wal replayed", "path", cfg.WAL, "records", info.Records, "transactions", len(txs), "in_doubt", inDoubt)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		r.close()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	engine, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		ln.Close()
		r.close()
		return nil, err
	}
	var shadow walwriter.Shadow
	if cfg.CompactBytes > 0 {
		shadow = r.shadow
	}
	n := &Node{engine: engine, logger: cfg.Logger, log: wlog, store: r.store, Stats: &walwriter.Stats{}, Wire: &transport.Stats{Msgs: cfg.Metrics.MsgCounts()}}
	n.wal = walwriter.Start(wlog, walwriter.Config{Stats: n.Stats, Metrics: cfg.Metrics, Fatal: cfg.Fatal,
		Shadow: shadow, CompactAt: cfg.CompactBytes, Trace: tr, Engine: engine, Applier: r.store, Logger: cfg.Logger})
	n.pid = actor.NewPID(engine.Address(), "participant/"+cfg.NodeID)
	n.desk = node.NewStatusDesk(engine, n.pid, cfg.Logger)
	router := &partRouter{engine: engine, pid: n.pid, trace: tr, nodeID: cfg.NodeID, desk: n.desk}
	incidents := incident.New(cfg.Logger)
	engine.Spawn(hollywood.CrashOnPanic(func() actor.Receiver {
		return &participantActor{
			fsm: fsm, store: r.store, reads: make(chan struct{}, maxReads),
			self: wire.Hello{Version: wire.Version, NodeID: cfg.NodeID, Role: wire.RoleParticipant},
			wal:  n.wal, policy: policy, logger: cfg.Logger, fatal: cfg.Fatal, router: router, wireStats: n.Wire, tls: cfg.TLS, trace: tr, metrics: cfg.Metrics,
			incidents: incidents, doubts: node.NewDoubts(incidents, cfg.DoubtWarn), recoveredSince: r.prepared,
		}
	}, cfg.Logger, cfg.Fatal), "participant", actor.WithID(cfg.NodeID), actor.WithInboxSize(1024))

	n.server = transport.NewServer(ln, transport.ServerConfig{
		Self:    wire.HelloAck{NodeID: cfg.NodeID, Role: wire.RoleParticipant},
		Handler: router, Logger: cfg.Logger, Stats: n.Wire, TLS: cfg.TLS,
		Known: policy.knownNode, MaxClients: cfg.Clients.Max, IdleTimeout: cfg.Clients.IdleTimeout,
		ClientSendBytes: cfg.Clients.SendBytes, ClientReadBytes: cfg.Clients.ReadBytes,
		// A coordinator we do not accept is told so at once, and every
		// time it redials, rather than at its first PREPARE.
		Accept: func(h *wire.Hello) error {
			if h.Role == wire.RoleCoordinator && !policy.acceptsCoordinator(h.NodeID) {
				return fmt.Errorf("participant %s does not accept coordinator %q (it takes %s)", cfg.NodeID, h.NodeID, strings.Join(cfg.Coordinators, ", "))
			}
			if h.Role == wire.RoleCoordinator {
				engine.Send(n.pid, coordUp{id: h.NodeID}) // ends a "coordinator connection lost"
			}
			return nil
		},
	})
	n.registerMetrics(cfg.Metrics, cfg.Logger)
	go n.server.Serve()
	return n, nil
}

// Addr is where the participant listens.
func (n *Node) Addr() string { return n.server.Addr().String() }

// Close stops the node.
func (n *Node) Close() error {
	steps := node.NewSteps(n.logger)
	n.server.Close()
	n.desk.Close()
	steps.Done("listener")
	hollywood.Poison(n.engine, n.pid)
	steps.Done("participant actor")
	n.store.stop()
	n.wal.Close()
	serr := n.store.Close()
	steps.Done("storage engine")
	err := n.log.Close()
	steps.Done("log")
	if err != nil {
		return err
	}
	return serr
}
