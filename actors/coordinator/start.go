package coordinator

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/hollywood"
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
	engine *actor.Engine
	pid    *actor.PID
	wal    *walwriter.Writer
	shards []*actor.PID
	log    *walstore.Log
	server *transport.Server
	desk   *node.StatusDesk
	peers  []*peerInfo
	Stats  *walwriter.Stats
	Wire   *transport.Stats // what this node's connections send
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
	// The window is held twice: the coordinator actor's answers and the
	// log model for checkpoints; they share the byte bound as their
	// measured sizes do (about 2:1).
	clog := protocol.NewCoordLog(cfg.KeepOutcomes).LimitBytes(cfg.KeepBytes / 3)
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
	// The coordinator actor resumes from a copy: from now on the log model
	// belongs to the WAL writer's flusher, which keeps it current for checkpoints.
	var recovered []protocol.LoggedTx
	for _, t := range clog.All() {
		recovered = append(recovered, *t)
	}
	cfg.Logger.Info("wal replayed", "path", cfg.WAL, "records", info.Records, "transactions", len(recovered))

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
	n := &Node{engine: engine, log: wlog, Stats: &walwriter.Stats{}, Wire: &transport.Stats{Msgs: cfg.Metrics.MsgCounts()}}
	guard := func(p actor.Producer) actor.Producer { return hollywood.CrashOnPanic(p, cfg.Logger, cfg.Fatal) }
	n.wal = walwriter.Start(wlog, walwriter.Config{Stats: n.Stats, Metrics: cfg.Metrics, Fatal: cfg.Fatal,
		Shadow: clog, CompactAt: cfg.CompactBytes, Trace: tr, Engine: engine})

	// The coordinator's PID is fixed by its kind and id, so connections can
	// route to it before it is spawned (anything earlier is retransmitted).
	n.pid = actor.NewPID(engine.Address(), "coord/"+cfg.NodeID)
	shards := &txnShards{seed: maphash.MakeSeed()}
	for i := range runtime.GOMAXPROCS(0) {
		shards.pids = append(shards.pids, engine.Spawn(guard(newTxnShard(n.pid)), "txns",
			actor.WithID(fmt.Sprintf("%s-%d", cfg.NodeID, i)), actor.WithInboxSize(1024)))
	}
	n.shards = shards.pids
	n.desk = node.NewStatusDesk(engine, n.pid, cfg.Logger)
	rt := &coordRouter{engine: engine, coord: n.pid, shards: shards, logger: cfg.Logger, trace: tr, nodeID: cfg.NodeID, desk: n.desk}
	self := wire.Hello{Version: wire.Version, NodeID: cfg.NodeID, Role: wire.RoleCoordinator}
	for _, s := range specs {
		addr := s.addr
		n.peers = append(n.peers, &peerInfo{fixedID: s.id, addr: addr, peer: transport.NewPeer(transport.PeerConfig{
			Addr: addr, Self: self, Handler: rt, Logger: cfg.Logger, Stats: n.Wire, TLS: cfg.TLS, ExpectID: s.id,
			OnState: func(_ *transport.Peer, up bool, remote wire.HelloAck) {
				cfg.Logger.Info("participant connection", "addr", addr, "id", remote.NodeID, "up", up)
			},
		})})
	}

	advertise := cfg.Advertise
	if advertise == "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		advertise = ":" + port
	}
	engine.Spawn(guard(func() actor.Receiver {
		return &coordinatorActor{
			cfg:   protocol.CoordConfig{NodeID: cfg.NodeID, Addr: advertise, Vote: cfg.Timeout, Delay: cfg.Delay},
			deps:  txnDeps{nodeID: cfg.NodeID, wal: n.wal, retry: cfg.Retry, logger: cfg.Logger, fatal: cfg.Fatal, trace: tr, metrics: cfg.Metrics},
			peers: n.peers, shards: shards, txns: map[string]*coordTx{}, maxActive: cfg.MaxInflight,
			recovered: recovered, keep: cfg.KeepOutcomes, keepBytes: cfg.KeepBytes - cfg.KeepBytes/3, logger: cfg.Logger,
		}
	}), "coord", actor.WithID(cfg.NodeID))

	n.server = transport.NewServer(ln, transport.ServerConfig{
		Self:    wire.HelloAck{NodeID: cfg.NodeID, Role: wire.RoleCoordinator},
		Handler: rt, Logger: cfg.Logger, Stats: n.Wire, TLS: cfg.TLS,
		Known: n.knownParticipant, MaxClients: cfg.Clients.Max, IdleTimeout: cfg.Clients.IdleTimeout,
		ClientSendBytes: cfg.Clients.SendBytes, ClientReadBytes: cfg.Clients.ReadBytes,
	})
	n.registerMetrics(cfg.Metrics, cfg.Logger)
	go n.server.Serve()
	return n, nil
}

// knownParticipant reports whether a dialer is one of the configured
// participants, by the id configured or learned from our connection to it
// (one never reached yet is served as a client). Safe from any goroutine.
func (n *Node) knownParticipant(h *wire.Hello) bool {
	if h.Role != wire.RoleParticipant {
		return false
	}
	for _, p := range n.peers {
		if id := p.id(); id != p.addr && id == h.NodeID {
			return true
		}
	}
	return false
}

// Addr is where the coordinator listens.
func (n *Node) Addr() string { return n.server.Addr().String() }

// Close stops the node: no new connections, actors stopped, log closed.
func (n *Node) Close() error {
	n.Drain(5 * time.Second)
	n.server.Close()
	n.desk.Close()
	for _, p := range n.peers {
		p.peer.Close()
	}
	hollywood.Poison(n.engine, n.pid)
	for _, pid := range n.shards {
		hollywood.Poison(n.engine, pid)
	}
	n.wal.Close()
	return n.log.Close()
}

// coordRouter delivers what arrives on the coordinator's connections: votes,
// acks and query replies straight to their transaction's shard (no hop
// through the coordinator), everything else to the coordinator actor.
type coordRouter struct {
	engine *actor.Engine
	coord  *actor.PID
	shards *txnShards
	logger *slog.Logger
	trace  *trace.Ring
	nodeID string
	desk   *node.StatusDesk
}

func (r *coordRouter) HandleMessage(c *transport.Conn, m wire.Message) {
	var txid, from string
	switch msg := m.(type) {
	case *wire.Start:
		node.TraceMsg(r.trace, trace.Recv, "client", m)
	case *wire.Vote, *wire.Ack, *wire.QueryReply, *wire.Query:
		node.TraceMsg(r.trace, trace.Recv, c.Remote().NodeID, m)
	case *wire.TraceReq:
		node.AnswerTrace(r.trace, c, r.nodeID, wire.RoleCoordinator, msg)
		return
	case *wire.StatusReq:
		r.desk.Request(c, msg.ReqID) // never on the coordinator actor's path
		return
	}
	switch msg := m.(type) {
	case *wire.Vote:
		txid, from = msg.TxID, msg.From
	case *wire.Ack:
		txid, from = msg.TxID, msg.From
	case *wire.QueryReply:
		txid, from = msg.TxID, msg.From
	case *wire.Start, *wire.Query:
		r.engine.Send(r.coord, inbound{conn: c, msg: m})
		return
	default:
		r.logger.Debug("ignoring message", "type", m.Type().String(), "from", c.Remote().NodeID)
		return
	}
	if wire.CheckID("transaction id", txid) != nil || wire.CheckID("participant id", from) != nil {
		return
	}
	r.engine.Send(r.shards.of(txid), inbound{conn: c, msg: m}) // a finished transaction's shard hands it to the coordinator
}

func (r *coordRouter) HandleClose(*transport.Conn, error) {}

type peerSpec struct{ id, addr string }

// parsePeers reads --participants entries: "host:port", "http://host:port"
// or "id=host:port".
func parsePeers(list []string) ([]peerSpec, error) {
	var out []peerSpec
	seen := map[string]bool{}
	for _, raw := range list {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		var s peerSpec
		if id, addr, ok := strings.Cut(raw, "="); ok {
			if err := wire.CheckID("participant id", id); err != nil {
				return nil, fmt.Errorf("--participants %q: %w", raw, err)
			}
			s.id, raw = id, addr
		}
		addr, err := wire.NormalizeAddr(raw)
		if err != nil {
			return nil, fmt.Errorf("--participants: %w", err)
		}
		if seen[addr] {
			return nil, fmt.Errorf("--participants: %s listed twice", addr)
		}
		seen[addr] = true
		s.addr = addr
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("--participants: no participant addresses given")
	}
	if len(out) > wire.MaxMembers {
		// A PREPARE lists every member; peers refuse longer lists.
		return nil, fmt.Errorf("--participants: %d participants, at most %d", len(out), wire.MaxMembers)
	}
	return out, nil
}

// registerMetrics wires a coordinator's metrics.
func (n *Node) registerMetrics(m *metrics.Node, logger *slog.Logger) {
	node.RegisterMetrics(m, logger, n.engine, n.pid, n.Stats, n.Wire, func() ([]metrics.Peer, error) {
		// The participant connections never change after start, and Peer's
		// methods are safe from any goroutine.
		out := make([]metrics.Peer, len(n.peers))
		for i, p := range n.peers {
			out[i] = metrics.Peer{ID: p.id(), Out: true, Up: p.peer.Connected()}
		}
		return out, nil
	})
}
