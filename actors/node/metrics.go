package node

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/walwriter"
	"github.com/txd/txd/wire/transport"
)

// MetricsPoll asks a node's main actor, at scrape time, for what only it
// knows; it answers MetricsReply through Respond. Pulling once per scrape
// instead of pushing on every change keeps the transaction path free of
// metrics work. The scraper is not an actor, so it may wait (Request).
type MetricsPoll struct{}

// MetricsReply is a main actor's answer to MetricsPoll.
type MetricsReply struct {
	Count int            // participant: in doubt; coordinator: in flight
	Peers []metrics.Peer // participant: its connections (the coordinator's are read without the actor)
	// Oldest: participant: how long its oldest transaction in doubt has been.
	Oldest time.Duration
}

// metricsPollTimeout bounds a scrape's wait for a busy actor; on timeout
// the gauge is left out of that scrape.
const metricsPollTimeout = 2 * time.Second

var errPollTimeout = errors.New("metrics: the node's actor did not answer in time")

// PollMetrics asks the actor pid for its MetricsReply, waiting at most
// metricsPollTimeout.
func PollMetrics(e *actor.Engine, pid *actor.PID) (MetricsReply, error) {
	res, err := e.Request(pid, MetricsPoll{}, metricsPollTimeout).Result()
	if err != nil {
		return MetricsReply{}, fmt.Errorf("%w: %w", errPollTimeout, err)
	}
	r, ok := res.(MetricsReply)
	if !ok {
		return MetricsReply{}, fmt.Errorf("metrics: unexpected answer %T", res)
	}
	return r, nil
}

// exportStats registers the WAL's and the wire's counters, which the node
// keeps anyway, for reading at scrape time.
func exportStats(m *metrics.Node, w *walwriter.Stats, ws *transport.Stats) []error {
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

// RegisterMetrics wires what every node exports: its log's and
// connections' counters, the transactions it holds as running reports
// them, and its peers as peers reports them. With m nil
// it does nothing.
func RegisterMetrics(m *metrics.Node, logger *slog.Logger, running func() (int, error),
	stats *walwriter.Stats, ws *transport.Stats, peers func() ([]metrics.Peer, error)) {
	if m == nil {
		return
	}
	errs := exportStats(m, stats, ws)
	errs = append(errs, m.WatchTransactions(running), m.WatchPeers(peers))
	logErrors(logger, errs)
}
