package bench

import (
	"os"
	"testing"

	"github.com/txd/txd/actors/metrics"
)

// MetricsEnv, set to 1, gives every benchmark node Prometheus metrics (as
// --metrics does), so that the same benchmark run with and without it
// shows what they cost on the transaction path:
//
//	go test -run x -bench 'Commit2PC/c64' -benchtime 3000x -count 3 ./bench > off.txt
//	TXD_BENCH_METRICS=1 go test -run x -bench 'Commit2PC/c64' -benchtime 3000x -count 3 ./bench > on.txt
const MetricsEnv = "TXD_BENCH_METRICS"

// benchMetrics is a node's metrics, or nil when MetricsEnv is not 1.
func benchMetrics(tb testing.TB, role, id string) *metrics.Node {
	tb.Helper()
	if os.Getenv(MetricsEnv) != "1" {
		return nil
	}
	m, err := metrics.New(role, id)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
