package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// What an operator is alerted on beyond throughput and latency: how long
// transactions stay in doubt, heuristic decisions and the damage they do,
// and the node's certificate expiring (deploy/prometheus/txd-alerts.yml).

// opsMetrics are the counters of heuristic decisions and damage.
type opsMetrics struct {
	heuristic prometheus.Counter // participant only; nil on a coordinator
	damage    prometheus.Counter
}

func (n *Node) newOpsMetrics() []prometheus.Collector {
	n.ops.damage = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "txd_heuristic_damage_total",
		Help: n.pick("Participants that reported an outcome an operator applied by hand against this coordinator's decision (the transaction is not atomic).",
			"Decisions that reached this participant against the outcome an operator had applied by hand (the transaction is not atomic)."),
	})
	cs := []prometheus.Collector{n.ops.damage}
	if n.role == RoleParticipant {
		n.ops.heuristic = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "txd_heuristic_decisions_total",
			Help: "Outcomes of transactions in doubt applied by an operator (txcli resolve), not learned from the protocol.",
		})
		cs = append(cs, n.ops.heuristic)
	}
	return cs
}

// Heuristic counts an operator's decision applied on this participant.
func (n *Node) Heuristic() {
	if n == nil || n.ops.heuristic == nil {
		return
	}
	n.ops.heuristic.Inc()
}

// HeuristicDamage counts a heuristic outcome found to contradict the
// protocol's decision.
func (n *Node) HeuristicDamage() {
	if n == nil {
		return
	}
	n.ops.damage.Inc()
}

// WatchOldestInDoubt reports, at every scrape, how long the oldest
// transaction in doubt has been (0 for none), as f says; an error leaves
// it out of that scrape.
func (n *Node) WatchOldestInDoubt(f func() (time.Duration, error)) error {
	if n == nil {
		return nil
	}
	d := prometheus.NewDesc("txd_in_doubt_oldest_seconds",
		"How long the oldest transaction in doubt on this participant has been waiting for its outcome (0: none in doubt).", nil, nil)
	return n.reg.Register(&durationCollector{desc: d, f: f})
}

// CertExpiry reports, at every scrape, the seconds until notAfter: when
// the node's own TLS certificate expires (negative once it has).
func (n *Node) CertExpiry(notAfter time.Time) error {
	if n == nil {
		return nil
	}
	return n.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "txd_tls_cert_expiry_seconds",
		Help: "Seconds until this node's own TLS certificate expires (negative: it has); absent without TLS.",
	}, func() float64 { return time.Until(notAfter).Seconds() }))
}

type durationCollector struct {
	desc *prometheus.Desc
	f    func() (time.Duration, error)
}

func (c *durationCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *durationCollector) Collect(ch chan<- prometheus.Metric) {
	if v, err := c.f(); err == nil {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v.Seconds())
	}
}
