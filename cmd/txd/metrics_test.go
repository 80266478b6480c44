package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/txd/txd/cmd/internal/cluster"
)

// scraper fetches /metrics over HTTP. No keep-alive: an idle pooled
// connection would outlive the test as goroutines (TestMain checks).
var scraper = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

type families map[string]*dto.MetricFamily

// scrape reads a node's /metrics and parses the Prometheus text format.
func scrape(addr string) (families, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := scraper.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("content type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(res.Body)
}

// value is the counter, gauge or histogram count of the series of name
// whose labels include want; ok false when there is none.
func (f families) value(name string, want ...string) (float64, bool) {
	fam := f[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// sum is a histogram's sum of observations.
func (f families) sum(name string) float64 {
	if fam := f[name]; fam != nil && len(fam.GetMetric()) == 1 {
		return fam.GetMetric()[0].GetHistogram().GetSampleSum()
	}
	return -1
}

// want compares series; it returns the mismatches.
func (f families) want(checks ...check) []string {
	var bad []string
	for _, c := range checks {
		got, ok := f.value(c.name, c.labels...)
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("no %s%v", c.name, c.labels))
		case c.atLeast && got < c.v:
			bad = append(bad, fmt.Sprintf("%s%v = %v, want at least %v", c.name, c.labels, got, c.v))
		case !c.atLeast && got != c.v:
			bad = append(bad, fmt.Sprintf("%s%v = %v, want %v", c.name, c.labels, got, c.v))
		}
	}
	return bad
}

type check struct {
	name    string
	labels  []string
	v       float64
	atLeast bool
}

func eq(v float64, name string, labels ...string) check { return check{name, labels, v, false} }
func ge(v float64, name string, labels ...string) check { return check{name, labels, v, true} }

// outcomes: what every node must count for the transactions the test runs.
func outcomes(name string) []check {
	return []check{
		eq(3, name, "protocol", "2PC", "outcome", "committed"),
		eq(2, name, "protocol", "3PC", "outcome", "committed"),
		eq(1, name, "protocol", "2PC", "outcome", "aborted"),
		eq(1, name, "protocol", "3PC", "outcome", "aborted"),
	}
}

// A cluster with --metrics on every node: after 5 commits and 2 validation
// aborts (2PC and 3PC), each node's /metrics counts exactly those, its
// histograms agree with its counters, its connections show up, and no
// series names a transaction.
func TestMetricsScrape(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes; skipped with -short")
	}
	t.Parallel()
	c := cluster.New(t, cluster.Shared(t), cluster.Config{})
	maddr := map[string]string{}
	for _, n := range c.Nodes() {
		port, err := cluster.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		maddr[n.ID] = "127.0.0.1:" + strconv.Itoa(port)
		n.SetFlag("metrics", maddr[n.ID])
	}
	for _, p := range c.Parts {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
	}
	c.StartCoord()

	txids := []string{"M1", "M2", "M3", "M4", "M5", "A1", "A2"}
	commit(t, c, "M1", "SET", "balance", "100")
	commit(t, c, "M2", "SET", "k2", "v")
	commit(t, c, "M3", "SET", "k3", "v")
	for _, tx := range []string{"M4", "M5"} {
		out, r := c.StartTx(tx, "3PC", "SET", "k"+tx, "v")
		wantOutcome(t, out, r, 0, "COMMITTED")
	}
	for _, id := range []string{"B", "C"} {
		waitPart(t, c, id, "balance 100", hasValue("balance", "100"))
	}
	// B refuses: its balance would go negative.
	for _, a := range []struct{ tx, proto string }{{"A1", "2PC"}, {"A2", "3PC"}} {
		out, r := c.StartTx(a.tx, a.proto, "B:ADD", "balance", "-200", "C:ADD", "balance", "200")
		wantOutcome(t, out, r, 1, "ABORTED")
	}

	// The coordinator counted each decision before answering; participants
	// log theirs a moment later, so everything is polled.
	coordChecks := append(outcomes("txd_transactions_total"), outcomes("txd_commit_latency_seconds")...)
	coordChecks = append(coordChecks,
		eq(1, "txd_peer_connected", "peer", "B", "direction", "out"),
		eq(1, "txd_peer_connected", "peer", "C", "direction", "out"),
		eq(0, "txd_transactions_in_flight"),
		eq(7, "txd_messages_received_total", "type", "Start"),
		eq(7, "txd_messages_sent_total", "type", "StartResult"),
		ge(14, "txd_messages_sent_total", "type", "Prepare"),
		// In an abort, C's YES may never be sent: B's NO can make the
		// coordinator's ABORT overtake C's PREPARED being logged.
		ge(12, "txd_messages_received_total", "type", "Vote"),
		ge(4, "txd_messages_sent_total", "type", "PreCommit"),
		eq(1, "txd_node_info", "id", "COORD", "role", "coordinator"),
	)
	partChecks := append(outcomes("txd_transactions_total"),
		eq(1, "txd_peer_connected", "peer", "COORD", "direction", "in"),
		eq(0, "txd_transactions_in_doubt"),
		ge(7, "txd_messages_received_total", "type", "Prepare"),
		ge(5, "txd_messages_sent_total", "type", "Vote"),
	)
	scraped := map[string]families{}
	for _, n := range c.Nodes() {
		checks := partChecks
		if n.Role == cluster.Coordinator {
			checks = coordChecks
		}
		cluster.Eventually(t, waitTimeout, n.ID+" metrics", func() error {
			f, err := scrape(maddr[n.ID])
			if err != nil {
				return err
			}
			if bad := f.want(checks...); len(bad) > 0 {
				return fmt.Errorf("%s", strings.Join(bad, "; "))
			}
			scraped[n.ID] = f
			return nil
		})
	}

	for id, f := range scraped {
		// Every fsync is timed, and its batch size recorded (no
		// checkpoint ran: those count as fsyncs but are not timed).
		fsyncs, _ := f.value("txd_wal_fsyncs_total")
		timed, _ := f.value("txd_wal_fsync_seconds")
		batches, _ := f.value("txd_wal_batch_records")
		records, _ := f.value("txd_wal_records_total")
		if fsyncs < 7 || timed != fsyncs || batches != fsyncs {
			t.Errorf("%s: %v fsyncs, %v timed, %v batch sizes; want them equal and at least one per transaction", id, fsyncs, timed, batches)
		}
		if s := f.sum("txd_wal_batch_records"); s < batches || s > records {
			t.Errorf("%s: %v records made durable by fsyncs; want between %v (one each) and %v (all written)", id, s, batches, records)
		}
		if s := f.sum("txd_wal_fsync_seconds"); s <= 0 || s > 10 {
			t.Errorf("%s: fsyncs took %vs in all", id, s)
		}
		// Series must stay bounded: nothing names a transaction.
		for name, fam := range f {
			for _, m := range fam.GetMetric() {
				for _, l := range m.GetLabel() {
					ln := strings.ToLower(l.GetName())
					if strings.Contains(ln, "tx") || strings.Contains(ln, "transaction") {
						t.Errorf("%s: %s has label %s", id, name, l.GetName())
					}
					for _, tx := range txids {
						if l.GetValue() == tx {
							t.Errorf("%s: %s has a label naming transaction %s", id, name, tx)
						}
					}
				}
			}
		}
	}

	// SIGTERM stops the metrics server with the node: a clean exit, and
	// the port closed.
	if err := c.Coord.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := scrape(maddr["COORD"]); err == nil {
		t.Error("the coordinator's metrics still answer after it stopped")
	}
}

// A --metrics address that is malformed fails the start with exit 2, and
// one that is taken with exit 1; both say why in one line, before the node
// opens its log.
func TestMetricsBadAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		addr string
		code int
		want string
	}{
		{"nonsense", 2, `--metrics "nonsense"`},
		{"127.0.0.1:99999", 2, `port "99999"`},
		{"127.0.0.1:x", 2, `port "x"`},
		{ln.Addr().String(), 1, "address already in use"},
	} {
		for _, role := range []string{"participant", "coordinator"} {
			wal := filepath.Join(dir, role+".wal")
			args := []string{"txd", role, "--id", "B", "--port", "1", "--wal", wal, "--metrics", tc.addr}
			if role == "coordinator" {
				args = append(args, "--participants", "127.0.0.1:1")
			}
			var out, errb bytes.Buffer
			code := run(args, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) || strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("%s --metrics %s: exit %d, stderr %q; want exit %d and one line mentioning %q", role, tc.addr, code, errb.String(), tc.code, tc.want)
			}
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) > 0 {
		t.Errorf("a node that failed to start left files: %v", m)
	}
}
