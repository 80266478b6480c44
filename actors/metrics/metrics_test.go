package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/txd/txd/internal/version"
	"github.com/txd/txd/wire"
)

// gather returns the registry's families by name.
func gather(t *testing.T, n *Node) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := n.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// find returns the metric of family name whose labels include want; nil if
// there is none.
func find(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := find(fams, name, labels)
	if m == nil {
		t.Fatalf("no %s%v", name, labels)
	}
	return m.GetCounter().GetValue()
}

func TestNilNodeIsANoOp(t *testing.T) {
	var n *Node
	n.Outcome(wire.TwoPC, true)
	n.Latency(wire.TwoPC, true, time.Millisecond)
	n.Fsync(time.Millisecond, 3)
	if n.Timing() || n.MsgCounts() != nil {
		t.Error("a nil Node wants timing or message counts")
	}
	if err := n.Claim(); err != nil {
		t.Error(err)
	}
	for _, err := range []error{
		n.Register(nil),
		n.WatchPeers(func() ([]Peer, error) { return nil, nil }),
		n.WatchTransactions(func() (int, error) { return 0, nil }),
		n.CounterFunc("x_total", "x", func() int64 { return 0 }),
		n.GaugeFunc("x", "x", func() int64 { return 0 }),
	} {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestNewRejectsUnknownRole(t *testing.T) {
	if _, err := New("observer", "X"); err == nil {
		t.Fatal("role observer accepted")
	}
}

func TestClaimOnce(t *testing.T) {
	n, err := New(RoleParticipant, "B")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Claim(); err != nil {
		t.Fatal(err)
	}
	if err := n.Claim(); err == nil {
		t.Fatal("a second node could use the same metrics")
	}
}

func TestCoordinatorOutcomesAndLatency(t *testing.T) {
	n, err := New(RoleCoordinator, "COORD")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		n.Outcome(wire.TwoPC, true)
		n.Latency(wire.TwoPC, true, 2*time.Millisecond)
	}
	n.Outcome(wire.ThreePC, false)
	n.Latency(wire.ThreePC, false, 3*time.Second)
	n.Outcome("", false) // not one of ours: not counted
	n.Latency("", true, time.Second)

	fams := gather(t, n)
	for _, c := range []struct {
		proto, outcome string
		want           float64
	}{{"2PC", "committed", 3}, {"2PC", "aborted", 0}, {"3PC", "committed", 0}, {"3PC", "aborted", 1}, {"PARALLEL", "committed", 0}} {
		if got := counter(t, fams, "txd_transactions_total", map[string]string{"protocol": c.proto, "outcome": c.outcome}); got != c.want {
			t.Errorf("transactions %s %s = %v, want %v", c.proto, c.outcome, got, c.want)
		}
	}
	if got := len(fams["txd_transactions_total"].GetMetric()); got != 6 {
		t.Errorf("%d transaction series, want 6 (3 protocols × 2 outcomes)", got)
	}
	h := find(fams, "txd_commit_latency_seconds", map[string]string{"protocol": "2PC", "outcome": "committed"}).GetHistogram()
	if h.GetSampleCount() != 3 || h.GetSampleSum() < 0.0059 || h.GetSampleSum() > 0.0061 {
		t.Errorf("2PC committed latency: count %d sum %v, want 3 and 0.006", h.GetSampleCount(), h.GetSampleSum())
	}
	// 2 ms falls in the 3.2 ms bucket, not the 1.6 ms one.
	for _, b := range h.GetBucket() {
		switch b.GetUpperBound() {
		case 0.0016:
			if b.GetCumulativeCount() != 0 {
				t.Errorf("le 1.6ms holds %d", b.GetCumulativeCount())
			}
		case 0.0032:
			if b.GetCumulativeCount() != 3 {
				t.Errorf("le 3.2ms holds %d, want 3", b.GetCumulativeCount())
			}
		}
	}
	h = find(fams, "txd_commit_latency_seconds", map[string]string{"protocol": "3PC", "outcome": "aborted"}).GetHistogram()
	if h.GetSampleCount() != 1 {
		t.Errorf("3PC aborted latency count %d, want 1", h.GetSampleCount())
	}
	info := find(fams, "txd_node_info", map[string]string{"id": "COORD", "role": "coordinator"})
	if info == nil || info.GetGauge().GetValue() != 1 {
		t.Errorf("txd_node_info: %v", info)
	}
	build := find(fams, "txd_build_info", map[string]string{"version": version.String(), "goversion": runtime.Version()})
	if build == nil || build.GetGauge().GetValue() != 1 {
		t.Errorf("txd_build_info: %v", fams["txd_build_info"])
	}
}

func TestParticipantHasNoLatency(t *testing.T) {
	n, err := New(RoleParticipant, "B")
	if err != nil {
		t.Fatal(err)
	}
	n.Latency(wire.TwoPC, true, time.Millisecond) // the coordinator's to measure
	if f := gather(t, n)["txd_commit_latency_seconds"]; f != nil {
		t.Errorf("participant exports commit latency: %v", f)
	}
}

func TestFsyncAndBatch(t *testing.T) {
	n, err := New(RoleParticipant, "B")
	if err != nil {
		t.Fatal(err)
	}
	n.Fsync(40*time.Microsecond, 1)
	n.Fsync(100*time.Microsecond, 11)
	fams := gather(t, n)
	fs := fams["txd_wal_fsync_seconds"].GetMetric()[0].GetHistogram()
	if fs.GetSampleCount() != 2 || fs.GetSampleSum() < 139e-6 || fs.GetSampleSum() > 141e-6 {
		t.Errorf("fsync: count %d sum %v, want 2 and 140µs", fs.GetSampleCount(), fs.GetSampleSum())
	}
	bs := fams["txd_wal_batch_records"].GetMetric()[0].GetHistogram()
	if bs.GetSampleCount() != 2 || bs.GetSampleSum() != 12 {
		t.Errorf("batch: count %d sum %v, want 2 and 12", bs.GetSampleCount(), bs.GetSampleSum())
	}
}

func TestMessagesByType(t *testing.T) {
	n, err := New(RoleParticipant, "B")
	if err != nil {
		t.Fatal(err)
	}
	fams := gather(t, n)
	for _, typ := range wire.Types() {
		for _, name := range []string{"txd_messages_sent_total", "txd_messages_received_total"} {
			if find(fams, name, map[string]string{"type": typ.String()}) == nil {
				t.Errorf("no %s{type=%q}", name, typ)
			}
		}
	}
}

func TestPeersRememberInbound(t *testing.T) {
	n, err := New(RoleParticipant, "B")
	if err != nil {
		t.Fatal(err)
	}
	peers := []Peer{{ID: "COORD", Up: true}, {ID: "C", Out: true, Up: false}}
	var fail error
	if err := n.WatchPeers(func() ([]Peer, error) { return peers, fail }); err != nil {
		t.Fatal(err)
	}
	gauge := func(fams map[string]*dto.MetricFamily, id, dir string) (float64, bool) {
		m := find(fams, "txd_peer_connected", map[string]string{"peer": id, "direction": dir})
		return m.GetGauge().GetValue(), m != nil
	}
	fams := gather(t, n)
	if v, ok := gauge(fams, "COORD", "in"); !ok || v != 1 {
		t.Errorf("COORD in = %v (%v), want 1", v, ok)
	}
	if v, ok := gauge(fams, "C", "out"); !ok || v != 0 {
		t.Errorf("C out = %v (%v), want 0", v, ok)
	}
	// The coordinator's connection closed: its owner forgets it, the gauge
	// stays, at 0.
	peers = []Peer{{ID: "C", Out: true, Up: true}}
	fams = gather(t, n)
	if v, ok := gauge(fams, "COORD", "in"); !ok || v != 0 {
		t.Errorf("COORD in after it left = %v (%v), want 0", v, ok)
	}
	if v, _ := gauge(fams, "C", "out"); v != 1 {
		t.Errorf("C out = %v, want 1", v)
	}
	// The node could not be asked: no gauge rather than a wrong one.
	fail = errors.New("busy")
	if f := gather(t, n)["txd_peer_connected"]; f != nil {
		t.Errorf("peers reported although the node did not answer: %v", f)
	}
}

func TestTransactionsGauge(t *testing.T) {
	for _, c := range []struct{ role, name string }{
		{RoleParticipant, "txd_transactions_in_doubt"},
		{RoleCoordinator, "txd_transactions_in_flight"},
	} {
		n, err := New(c.role, "X")
		if err != nil {
			t.Fatal(err)
		}
		count, fail := 7, error(nil)
		if err := n.WatchTransactions(func() (int, error) { return count, fail }); err != nil {
			t.Fatal(err)
		}
		f := gather(t, n)[c.name]
		if f == nil || f.GetMetric()[0].GetGauge().GetValue() != 7 {
			t.Errorf("%s: %v, want 7", c.name, f)
		}
		fail = errors.New("timeout")
		if f := gather(t, n)[c.name]; f != nil {
			t.Errorf("%s reported although the node did not answer: %v", c.name, f)
		}
	}
}

func TestFuncsAndHandler(t *testing.T) {
	n, err := New(RoleParticipant, "B")
	if err != nil {
		t.Fatal(err)
	}
	var v int64 = 41
	if err := n.CounterFunc("txd_test_total", "test", func() int64 { return v }); err != nil {
		t.Fatal(err)
	}
	if err := n.GaugeFunc("txd_test_size", "test", func() int64 { return -v }); err != nil {
		t.Fatal(err)
	}
	if err := n.CounterFunc("txd_test_total", "test", func() int64 { return v }); err == nil {
		t.Error("a metric registered twice")
	}
	v++
	n.Outcome(wire.ThreePC, true)
	srv := httptest.NewServer(n.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := string(body)
	for _, want := range []string{
		"txd_test_total 42\n", "txd_test_size -42\n",
		`txd_transactions_total{outcome="committed",protocol="3PC"} 1` + "\n",
		"# TYPE txd_wal_fsync_seconds histogram\n", "go_goroutines ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
