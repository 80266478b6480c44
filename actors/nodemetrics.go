package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/wire/transport"
)

// metricsPoll asks a node's main actor, at scrape time, for what only it
// knows; it answers metricsReply through Respond. Pulling once per scrape
// instead of pushing on every change keeps the transaction path free of
// metrics work. The scraper is not an actor, so it may wait (Request).
type metricsPoll struct{}

type metricsReply struct {
	count int            // participant: in doubt; coordinator: in flight
	peers []metrics.Peer // participant: its connections (the coordinator's are read without the actor)
}

// metricsPollTimeout bounds a scrape's wait for a busy actor; on timeout
// the gauge is left out of that scrape.
const metricsPollTimeout = 2 * time.Second

var errPollTimeout = errors.New("metrics: the node's actor did not answer in time")

func pollMetrics(e *actor.Engine, pid *actor.PID) (metricsReply, error) {
	res, err := e.Request(pid, metricsPoll{}, metricsPollTimeout).Result()
	if err != nil {
		return metricsReply{}, fmt.Errorf("%w: %w", errPollTimeout, err)
	}
	r, ok := res.(metricsReply)
	if !ok {
		return metricsReply{}, fmt.Errorf("metrics: unexpected answer %T", res)
	}
	return r, nil
}

// exportStats registers the WAL's and the wire's counters, which the node
// keeps anyway, for reading at scrape time.
func exportStats(m *metrics.Node, w *WALStats, ws *transport.Stats) []error {
	return []error{
		m.CounterFunc("txd_wal_fsyncs_total", "fsync calls on the write-ahead log (checkpoints included).", w.Fsyncs.Load),
		m.CounterFunc("txd_wal_records_total", "Log records written.", w.Records.Load),
		m.CounterFunc("txd_wal_written_bytes_total", "Bytes appended to the log.", w.Bytes.Load),
		m.CounterFunc("txd_wal_checkpoints_total", "Checkpoints: the log rewritten as a snapshot.", w.Checkpoints.Load),
		m.GaugeFunc("txd_wal_size_bytes", "The log file's logical size.", w.LogBytes.Load),
		m.CounterFunc("txd_wire_frames_sent_total", "Frames written on this node's connections.", ws.FramesOut.Load),
		m.CounterFunc("txd_wire_sent_bytes_total", "Bytes written on this node's connections, frame headers included.", ws.BytesOut.Load),
		m.CounterFunc("txd_wire_flushes_total", "Buffered writes flushed to a socket (about one syscall each).", ws.Flushes.Load),
	}
}

// logErrors reports registration errors: they can only be a programming
// error (Claim keeps one Node per node), and metrics never stop a node.
func logErrors(logger *slog.Logger, errs []error) {
	if err := errors.Join(errs...); err != nil {
		logger.Error("metrics not registered", "err", err)
	}
}

// registerMetrics wires a coordinator's metrics.
func (n *Coordinator) registerMetrics(m *metrics.Node, logger *slog.Logger) {
	registerNodeMetrics(m, logger, n.engine, n.pid, n.Stats, n.Wire, func() ([]metrics.Peer, error) {
		// The participant connections never change after start, and Peer's
		// methods are safe from any goroutine.
		out := make([]metrics.Peer, len(n.peers))
		for i, p := range n.peers {
			out[i] = metrics.Peer{ID: p.id(), Out: true, Up: p.peer.Connected()}
		}
		return out, nil
	})
}

// registerMetrics wires a participant's metrics.
func (n *Participant) registerMetrics(m *metrics.Node, logger *slog.Logger) {
	registerNodeMetrics(m, logger, n.engine, n.pid, n.Stats, n.Wire, func() ([]metrics.Peer, error) {
		r, err := pollMetrics(n.engine, n.pid)
		return r.peers, err
	})
}

// registerNodeMetrics wires what every node exports: its log's and
// connections' counters, the transactions its main actor holds, and its
// peers as peers reports them.
func registerNodeMetrics(m *metrics.Node, logger *slog.Logger, e *actor.Engine, pid *actor.PID,
	stats *WALStats, ws *transport.Stats, peers func() ([]metrics.Peer, error)) {
	if m == nil {
		return
	}
	errs := exportStats(m, stats, ws)
	errs = append(errs, m.WatchTransactions(func() (int, error) {
		r, err := pollMetrics(e, pid)
		return r.count, err
	}), m.WatchPeers(peers))
	logErrors(logger, errs)
}
