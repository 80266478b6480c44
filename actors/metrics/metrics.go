// Package metrics is a txd node's Prometheus metrics: one Node per node,
// each with a private registry (never the global default), so that tests and
// benchmarks can run several nodes in one process.
//
// The hot path (an outcome, a fsync, a message) costs an atomic add or a
// histogram observation on a child resolved at construction: no label
// lookup, no map, no allocation. Every method is safe on a nil *Node and
// does nothing, so a node started without --metrics pays a nil check.
// State that lives in an actor (transactions in doubt, connections) is read
// at scrape time through a function the node supplies, not pushed on every
// change.
//
// No metric carries a transaction id: series must stay bounded.
package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/txd/txd/internal/version"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// Roles, as the role label of txd_node_info says them.
const (
	RoleCoordinator = "coordinator"
	RoleParticipant = "participant"
)

// protocols are the protocol label's values, indexed by protoIndex.
var protocols = [...]wire.Protocol{wire.TwoPC, wire.ThreePC, wire.Parallel}

// outcomes are the outcome label's values: index 0 aborted, 1 committed.
var outcomes = [...]string{"aborted", "committed"}

func protoIndex(p wire.Protocol) (int, bool) {
	switch p {
	case wire.TwoPC:
		return 0, true
	case wire.ThreePC:
		return 1, true
	case wire.Parallel:
		return 2, true
	}
	return 0, false
}

func outcomeIndex(commit bool) int {
	if commit {
		return 1
	}
	return 0
}

// Buckets. Commit latency: 100 µs (a lone commit on a fast disk) doubling
// to about 13 s (a vote timeout, a stalled disk). Fsync: 10 µs doubling to
// about 1.3 s. Batch: 1 record per fsync (idle) doubling to 4096.
var (
	latencyBuckets = prometheus.ExponentialBuckets(100e-6, 2, 18)
	fsyncBuckets   = prometheus.ExponentialBuckets(10e-6, 2, 18)
	batchBuckets   = prometheus.ExponentialBuckets(1, 2, 13)
)

// Node is one node's metrics.
type Node struct {
	role    string
	reg     *prometheus.Registry
	txns    [len(protocols)][len(outcomes)]prometheus.Counter
	latency [len(protocols)][len(outcomes)]prometheus.Observer
	fsync   prometheus.Histogram
	batch   prometheus.Histogram
	msgs    *transport.MsgCounts
	ops     opsMetrics
	claimed atomic.Bool
}

// New makes the metrics of a node with this role (RoleCoordinator or
// RoleParticipant) and id, in a registry of their own that also holds the
// Go runtime's and the process's metrics.
func New(role, nodeID string) (*Node, error) {
	if role != RoleCoordinator && role != RoleParticipant {
		return nil, fmt.Errorf("metrics: unknown role %q", role)
	}
	n := &Node{role: role, reg: prometheus.NewRegistry(), msgs: &transport.MsgCounts{}}
	txns := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "txd_transactions_total",
		Help: n.pick("Transactions decided by this coordinator since it started, by protocol and outcome.",
			"Transaction outcomes this participant logged since it started (committed and applied, or aborted), by protocol."),
	}, []string{"protocol", "outcome"})
	n.fsync = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "txd_wal_fsync_seconds",
		Help:    "Time one fsync of the write-ahead log took.",
		Buckets: fsyncBuckets,
	})
	n.batch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "txd_wal_batch_records",
		Help:    "Log records made durable by one fsync (group commit: more than one means records shared it).",
		Buckets: batchBuckets,
	})
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "txd_node_info",
		Help:        "Always 1; its labels say which node this is.",
		ConstLabels: prometheus.Labels{"id": nodeID, "role": role},
	})
	info.Set(1)
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "txd_build_info",
		Help:        "Always 1; its labels say which build of txd this is.",
		ConstLabels: prometheus.Labels{"version": version.String(), "goversion": version.Go()},
	})
	build.Set(1)
	cs := []prometheus.Collector{txns, n.fsync, n.batch, info, build, msgCollector{n.msgs},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	cs = append(cs, n.newOpsMetrics()...)
	if role == RoleCoordinator {
		lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "txd_commit_latency_seconds",
			Help:    "Time from a client's Start reaching the coordinator to its decision being durable and answered, by protocol and outcome.",
			Buckets: latencyBuckets,
		}, []string{"protocol", "outcome"})
		cs = append(cs, lat)
		for i, p := range protocols {
			for j, o := range outcomes {
				n.latency[i][j] = lat.WithLabelValues(string(p), o)
			}
		}
	}
	// Every series exists from the start, at zero: a rate over a counter
	// that appears only with its first increment misses that increment.
	for i, p := range protocols {
		for j, o := range outcomes {
			n.txns[i][j] = txns.WithLabelValues(string(p), o)
		}
	}
	for _, c := range cs {
		if err := n.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return n, nil
}

// pick chooses the coordinator's or the participant's wording.
func (n *Node) pick(coord, part string) string {
	if n.role == RoleCoordinator {
		return coord
	}
	return part
}

// Role is the node's role.
func (n *Node) Role() string { return n.role }

// Handler serves the registry in the Prometheus text format.
func (n *Node) Handler() http.Handler {
	return promhttp.HandlerFor(n.reg, promhttp.HandlerOpts{Registry: n.reg})
}

// MsgCounts is what the node's transport.Stats should count messages into; nil
// for a nil Node.
func (n *Node) MsgCounts() *transport.MsgCounts {
	if n == nil {
		return nil
	}
	return n.msgs
}

// Claim marks the metrics as one node's: a second node given the same
// metrics would mix its numbers in, so its start fails.
func (n *Node) Claim() error {
	if n != nil && !n.claimed.CompareAndSwap(false, true) {
		return errors.New("metrics: already in use by another node")
	}
	return nil
}

// Gatherer is the registry, for tests.
func (n *Node) Gatherer() prometheus.Gatherer { return n.reg }

// Register adds a collector of the node's wiring.
func (n *Node) Register(c prometheus.Collector) error {
	if n == nil {
		return nil
	}
	return n.reg.Register(c)
}

// Outcome counts a transaction's outcome; a protocol none of 2PC, 3PC and
// PARALLEL (a participant aborting a transaction it never saw prepared) is not one
// of this node's transactions and is not counted.
func (n *Node) Outcome(p wire.Protocol, commit bool) {
	if n == nil {
		return
	}
	if i, ok := protoIndex(p); ok {
		n.txns[i][outcomeIndex(commit)].Inc()
	}
}

// Latency records how long a client waited for a transaction's decision.
func (n *Node) Latency(p wire.Protocol, commit bool, took time.Duration) {
	if n == nil || n.role != RoleCoordinator {
		return
	}
	if i, ok := protoIndex(p); ok {
		n.latency[i][outcomeIndex(commit)].Observe(took.Seconds())
	}
}

// Fsync records one fsync of the log and how many records it made durable.
func (n *Node) Fsync(took time.Duration, records int) {
	if n == nil {
		return
	}
	n.fsync.Observe(took.Seconds())
	n.batch.Observe(float64(records))
}

// Timing reports whether Fsync wants durations: callers skip reading the
// clock when it does not.
func (n *Node) Timing() bool { return n != nil }

// msgCollector exports transport.MsgCounts at scrape time.
type msgCollector struct{ m *transport.MsgCounts }

var (
	sentDesc = prometheus.NewDesc("txd_messages_sent_total",
		"Protocol messages queued for sending on this node's connections, by type.", []string{"type"}, nil)
	recvDesc = prometheus.NewDesc("txd_messages_received_total",
		"Protocol messages received on this node's connections, by type.", []string{"type"}, nil)
)

func (c msgCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sentDesc
	ch <- recvDesc
}

func (c msgCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range wire.Types() {
		ch <- prometheus.MustNewConstMetric(sentDesc, prometheus.CounterValue, float64(c.m.Sent(t)), t.String())
		ch <- prometheus.MustNewConstMetric(recvDesc, prometheus.CounterValue, float64(c.m.Received(t)), t.String())
	}
}
