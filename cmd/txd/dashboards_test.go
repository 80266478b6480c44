package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/internal/version"
)

// The dashboard and the alert rules shipped in deploy/ name only metrics
// that a real node exports, and their expressions parse. PromQL is parsed
// with metricsql (VictoriaMetrics' PromQL parser, three small modules):
// Prometheus' own parser drags in its storage engine and an ambiguous
// genproto import. metricsql accepts a superset of PromQL, so expressions
// are also held to PromQL's function names and to its rules for range
// vectors (metricsql.IsLikelyInvalid).

const (
	dashboardFile = "../../deploy/grafana/txd-dashboard.json"
	alertsFile    = "../../deploy/prometheus/txd-alerts.yml"
)

// fromPrometheus are the series Prometheus makes itself, not the node.
var fromPrometheus = []string{"up"}

// promqlFuncs are PromQL's functions and aggregations that the files may use.
var promqlFuncs = []string{
	"abs", "absent", "avg", "ceil", "changes", "clamp_max", "clamp_min", "count", "delta", "deriv",
	"floor", "histogram_quantile", "increase", "irate", "max", "max_over_time", "min", "min_over_time",
	"quantile", "rate", "resets", "round", "sort", "sort_desc", "sum", "time", "timestamp", "topk", "bottomk",
	"vector", "avg_over_time", "sum_over_time", "count_over_time", "last_over_time", "label_replace",
}

type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// shippedExprs reads every PromQL expression of the dashboard and the
// alert rules, by where it is.
func shippedExprs(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: no uid or no panels", dashboardFile)
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("dashboard: panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("dashboard: panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			exprs[fmt.Sprintf("dashboard panel %q query %d", p.Title, i)] = tg.Expr
		}
	}

	b, err = os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true) // a misspelt key would be ignored by Prometheus
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alerts: rule %q lacks a name, summary or description", r.Alert)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("alerts: %s: severity %q", r.Alert, r.Labels["severity"])
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("alerts: %s: for %q: %v", r.Alert, r.For, err)
				}
			}
			exprs["alert "+r.Alert] = r.Expr
		}
	}
	if n == 0 {
		t.Fatalf("%s: no rules", alertsFile)
	}
	return exprs
}

// metricNames parses a PromQL expression and lists the metrics it reads.
func metricNames(expr string) ([]string, error) {
	e, err := metricsql.Parse(expr)
	if err != nil {
		return nil, err
	}
	if metricsql.IsLikelyInvalid(e) {
		return nil, fmt.Errorf("not valid PromQL (a range where an instant vector belongs, or the reverse)")
	}
	var names []string
	var bad error
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		switch x := x.(type) {
		case *metricsql.MetricExpr:
			for _, lfs := range x.LabelFilterss {
				for _, lf := range lfs {
					if lf.Label == "__name__" && !lf.IsRegexp && !lf.IsNegative {
						names = append(names, lf.Value)
					}
				}
			}
		case *metricsql.FuncExpr:
			if !slices.Contains(promqlFuncs, x.Name) {
				bad = fmt.Errorf("%s is not a PromQL function this test knows", x.Name)
			}
			// PromQL wants a range where metricsql would take a bare series.
			if i := metricsql.GetRollupArgIdx(x); x.Name != "timestamp" && i >= 0 && i < len(x.Args) {
				if r, ok := x.Args[i].(*metricsql.RollupExpr); !ok || r.Window == nil {
					bad = fmt.Errorf("%s needs a range vector such as x[5m]", x.Name)
				}
			}
		case *metricsql.AggrFuncExpr:
			if !slices.Contains(promqlFuncs, x.Name) {
				bad = fmt.Errorf("%s is not a PromQL aggregation this test knows", x.Name)
			}
		}
	})
	return names, bad
}

// exported lists the series names a node's families make: a histogram's
// _bucket, _sum and _count.
func exported(fams families) map[string]bool {
	out := map[string]bool{}
	for name, f := range fams {
		out[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				out[name+s] = true
			}
		}
	}
	return out
}

func TestDashboardsAndAlerts(t *testing.T) {
	// Parse first: a broken file fails without starting anything.
	exprs := shippedExprs(t)
	used := map[string][]string{} // metric → where
	for where, expr := range exprs {
		names, err := metricNames(expr)
		if err != nil {
			t.Errorf("%s: %q: %v", where, expr, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: %q reads no metric", where, expr)
		}
		for _, n := range names {
			used[n] = append(used[n], where)
		}
	}
	if testing.Short() {
		t.Skip("the rest starts real processes; skipped with -short")
	}
	t.Parallel()

	// A coordinator and a participant with TLS (for the certificate's
	// metric), each scraped once they are connected.
	bins := cluster.Shared(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bins.TXD, "certs", "--dir", dir, "--nodes", "COORD,B").CombinedOutput(); err != nil {
		t.Fatalf("txd certs: %v\n%s", err, out)
	}
	tls := func(id string) []string {
		return []string{"--tls-ca", filepath.Join(dir, "ca.crt"), "--tls-cert", filepath.Join(dir, id+".crt"), "--tls-key", filepath.Join(dir, id+".key")}
	}
	bAddr, coordAddr, bMetrics, coordMetrics := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	startProc(t, "B", nil, append(nodeArgs(t, "participant", "B", bAddr, bMetrics), tls("B")...)...)
	coord := startProc(t, "COORD", nil, append(append(nodeArgs(t, "coordinator", "COORD", coordAddr, coordMetrics), tls("COORD")...), "--participants", "B="+bAddr)...)
	cluster.Eventually(t, waitTimeout, "the coordinator is ready", func() error {
		if code, body, err := get("http://" + coordMetrics + "/readyz"); err != nil || code != 200 {
			return fmt.Errorf("/readyz: %d %q %v", code, body, err)
		}
		return nil
	})
	have := map[string]bool{}
	for _, addr := range []string{coordMetrics, bMetrics} {
		fams, err := scrape(addr)
		if err != nil {
			t.Fatal(err)
		}
		for n := range exported(fams) {
			have[n] = true
		}
		// What the alerts compare with thresholds is in range: `txd certs`
		// makes certificates valid for a year.
		if v, ok := fams.value("txd_tls_cert_expiry_seconds"); !ok || v < 360*86400 || v > 366*86400 {
			t.Errorf("%s: txd_tls_cert_expiry_seconds %v (present %v), want about a year", addr, v, ok)
		}
		if _, ok := fams.value("txd_build_info", "version", version.String()); !ok {
			t.Errorf("%s: no txd_build_info for version %s", addr, version.String())
		}
	}
	if !strings.Contains(coord.text(), `msg="certificate expires"`) {
		t.Error("no start-up line saying when the certificate expires")
	}
	for name, where := range used {
		if !have[name] && !slices.Contains(fromPrometheus, name) {
			slices.Sort(where)
			t.Errorf("%s is not exported by a coordinator or a participant, but %s use it", name, strings.Join(where, ", "))
		}
	}
}
