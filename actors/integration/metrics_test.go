package integration

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/internal/nodetest"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

// metricValue is the value (a histogram's count) of the series of name
// whose labels include labels; ok false when there is none.
func metricValue(t *testing.T, m *metrics.Node, name string, labels ...string) (float64, bool) {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				return s.GetCounter().GetValue(), true
			case s.Gauge != nil:
				return s.GetGauge().GetValue(), true
			case s.Histogram != nil:
				return float64(s.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// The node wiring end to end, in one process under the race detector:
// outcomes, latency and fsyncs counted where they happen, the gauges read
// from the actors while transactions run and scrapes go on concurrently.
func TestNodeMetrics(t *testing.T) {
	dir := t.TempDir()
	fatal := func(err error) { t.Errorf("node stopped: %v", err) }
	pm, err := metrics.New(metrics.RoleParticipant, "B")
	if err != nil {
		t.Fatal(err)
	}
	p, err := participant.Start(participant.Config{NodeID: "B", Listen: "127.0.0.1:0", WAL: filepath.Join(dir, "B.wal"),
		Logger: nodetest.QuietLogger(), Fatal: fatal, Metrics: pm})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// One registry per node: a second node may not count into it.
	_, err = participant.Start(participant.Config{NodeID: "X", Listen: "127.0.0.1:0", WAL: filepath.Join(dir, "X.wal"),
		Logger: nodetest.QuietLogger(), Fatal: fatal, Metrics: pm})
	if ce := (*node.ConfigError)(nil); !errors.As(err, &ce) {
		t.Fatalf("second node with the same metrics: %v, want a ConfigError", err)
	}
	cm, err := metrics.New(metrics.RoleCoordinator, "COORD")
	if err != nil {
		t.Fatal(err)
	}
	c, err := coordinator.Start(coordinator.Config{NodeID: "COORD", Listen: "127.0.0.1:0", Participants: []string{"B=" + p.Addr()},
		WAL: filepath.Join(dir, "coord.wal"), Logger: nodetest.QuietLogger(), Fatal: fatal, Metrics: cm})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nodetest.WaitFor(t, 5*time.Second, func() bool {
		v, _ := metricValue(t, cm, "txd_peer_connected", "peer", "B", "direction", "out")
		return v == 1
	})

	// Scrape both nodes all along.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, m := range []*metrics.Node{pm, cm} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := m.Gatherer().Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	cl, err := transport.DialClient(context.Background(), c.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 4 {
		proto := wire.TwoPC
		if i%2 == 1 {
			proto = wire.ThreePC
		}
		res, err := cl.Start(context.Background(), fmt.Sprintf("T%d", i), proto, []wire.Op{{Kind: wire.OpSet, Key: fmt.Sprintf("k%d", i), Value: "1"}})
		if err != nil || res.Outcome != wire.StateCommitted {
			t.Fatalf("T%d: %+v, %v", i, res, err)
		}
	}
	res, err := cl.Start(context.Background(), "NO", wire.TwoPC, []wire.Op{{Kind: wire.OpAdd, Key: "n", Delta: -1}})
	if err != nil || res.Outcome != wire.StateAborted {
		t.Fatalf("NO: %+v, %v", res, err)
	}
	close(stop)
	wg.Wait()

	want := []struct {
		m      *metrics.Node
		name   string
		labels []string
		v      float64
		min    bool // at least v: a phase message is resent when its answer is slow
	}{
		{cm, "txd_transactions_total", []string{"protocol", "2PC", "outcome", "committed"}, 2, false},
		{cm, "txd_transactions_total", []string{"protocol", "3PC", "outcome", "committed"}, 2, false},
		{cm, "txd_transactions_total", []string{"protocol", "2PC", "outcome", "aborted"}, 1, false},
		{cm, "txd_commit_latency_seconds", []string{"protocol", "3PC", "outcome", "committed"}, 2, false},
		{cm, "txd_transactions_in_flight", nil, 0, false},
		{cm, "txd_messages_received_total", []string{"type", "Start"}, 5, false},
		{pm, "txd_transactions_total", []string{"protocol", "2PC", "outcome", "committed"}, 2, false},
		{pm, "txd_transactions_total", []string{"protocol", "3PC", "outcome", "committed"}, 2, false},
		{pm, "txd_transactions_total", []string{"protocol", "2PC", "outcome", "aborted"}, 1, false},
		{pm, "txd_transactions_in_doubt", nil, 0, false},
		{pm, "txd_peer_connected", []string{"peer", "COORD", "direction", "in"}, 1, false},
		{pm, "txd_messages_received_total", []string{"type", "Prepare"}, 5, true},
	}
	var bad string
	if !poll(5*time.Second, func() bool {
		for _, w := range want {
			if v, ok := metricValue(t, w.m, w.name, w.labels...); !ok || v < w.v || (!w.min && v != w.v) {
				bad = fmt.Sprintf("%s: %s%v = %v (present %v), want %v", w.m.Role(), w.name, w.labels, v, ok, w.v)
				return false
			}
		}
		return true
	}) {
		t.Fatal(bad)
	}
	for _, m := range []*metrics.Node{pm, cm} {
		fsyncs, _ := metricValue(t, m, "txd_wal_fsyncs_total")
		timed, _ := metricValue(t, m, "txd_wal_fsync_seconds")
		if fsyncs == 0 || timed != fsyncs {
			t.Errorf("%s: %v fsyncs, %v timed", m.Role(), fsyncs, timed)
		}
	}
}

// poll reports whether cond held within limit.
func poll(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
