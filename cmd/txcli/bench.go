package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/wire"
)

const benchDescription = `Runs N transactions at concurrency C against the coordinator (a live
cluster anywhere: loopback or EC2) and reports throughput, latency
percentiles and a latency histogram. Each transaction adds 1 to a key of its
own ("bench/PREFIX/I"), so transactions never conflict; --keys K spreads them
over K keys instead ("bench/PREFIX/kJ"), to measure contention.

Bench leaves no keys behind: when the run is over it deletes every key it
wrote (DEL transactions of up to 1024 keys, not counted in the figures).
--keep keeps them, under bench/PREFIX/ (PREFIX: --prefix, or the fresh one
it prints), to read with "txcli --participant ADDR scan --prefix bench/".

   txcli --coord ADDR bench -n 20000 -c 64
   txcli --coord ADDR bench -n 5000 -c 16 --protocol 3PC --json

Progress goes to stderr while it runs. Exit code: 0 when every transaction
committed, 1 when some aborted, 2 on errors (the clean-up's too).`

// benchKeys is the prefix of every key bench writes.
const benchKeys = "bench/"

type benchConfig struct {
	config
	addr     string
	n, c     int
	conns    int
	keys     int
	proto    wire.Protocol
	prefix   string
	keep     bool      // leave the keys written
	progress io.Writer // nil: no progress line
}

// key is the key transaction i adds to.
func (bc benchConfig) key(i int) string {
	if bc.keys > 0 {
		return fmt.Sprintf("%s%s/k%d", benchKeys, bc.prefix, i%bc.keys)
	}
	return fmt.Sprintf("%s%s/%d", benchKeys, bc.prefix, i)
}

// written is how many distinct keys the run writes: key(0) to key(written-1).
func (bc benchConfig) written() int {
	if bc.keys > 0 {
		return min(bc.keys, bc.n)
	}
	return bc.n
}

func benchCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:        "bench",
		Usage:       "load a cluster with N transactions at concurrency C and report latency and throughput",
		Description: benchDescription,
		Flags: append(commandFlags(),
			&cli.IntFlag{Name: "n", Value: 10000, Usage: "transactions to run"},
			&cli.IntFlag{Name: "c", Value: 16, Usage: "transactions in flight at once"},
			&cli.IntFlag{Name: "conns", Value: 1, Usage: "client connections to spread them over"},
			&cli.IntFlag{Name: "keys", Value: 0, Usage: "spread over this many keys (0: a key per transaction)"},
			&cli.StringFlag{Name: "protocol", Value: "2PC", Usage: "2PC, 3PC or PARALLEL"},
			&cli.StringFlag{Name: "prefix", Usage: "transaction id prefix, and keys under bench/PREFIX/ (default: a fresh one per run)"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the keys written (default: delete them when done)"},
		),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			bc := benchConfig{config: cfg, n: c.Int("n"), c: c.Int("c"), conns: c.Int("conns"), keys: c.Int("keys"), prefix: c.String("prefix"), keep: c.Bool("keep")}
			if cfg.coord == "" {
				return failf("bench needs --coord ADDR (or TXCLI_COORD)")
			}
			if bc.addr, err = wire.NormalizeAddr(cfg.coord); err != nil {
				return failf("--coord: %v", err)
			}
			if bc.n <= 0 || bc.c <= 0 || bc.conns <= 0 || bc.keys < 0 {
				return failf("bench: -n, -c and --conns must be positive, --keys zero or positive")
			}
			if bc.proto, err = wire.ParseProtocol(c.String("protocol")); err != nil {
				return failf("bench: %v", err)
			}
			if bc.prefix == "" {
				bc.prefix = fmt.Sprintf("b%x", time.Now().UnixNano()&0xffffffffff)
			}
			if err := wire.CheckID("transaction id prefix", bc.prefix); err != nil {
				return failf("bench: %v", err)
			}
			// The longest key and id it will send, checked before any is.
			if err := wire.CheckOps([]wire.Op{{Kind: wire.OpAdd, Key: bc.key(bc.n - 1)}}); err != nil {
				return failf("bench: %v", err)
			}
			if err := wire.CheckID("transaction id", cleanupID(bc.prefix, bc.written())); err != nil {
				return failf("bench: %v", err)
			}
			if isTerminal(s.err) {
				bc.progress = s.err
			}
			return runBench(c.Context, bc, s)
		},
	}
}

// benchResult is bench's --json output (a contract: fields are only added).
type benchResult struct {
	Coordinator string         `json:"coordinator"`
	Protocol    string         `json:"protocol"`
	Concurrency int            `json:"concurrency"`
	Requested   int            `json:"requested"`
	Committed   int            `json:"committed"`
	Aborted     int            `json:"aborted"`
	Errors      int            `json:"errors"`
	Seconds     float64        `json:"seconds"`
	TxPerSec    float64        `json:"tx_per_sec"`
	LatencyUS   map[string]int `json:"latency_us"` // p50, p90, p99, p999, max, mean
	Histogram   []histBucket   `json:"histogram"`
	AbortReason map[string]int `json:"abort_reasons,omitempty"`
	FirstError  string         `json:"first_error,omitempty"`
	// Added with the clean-up: where its keys were, and what became of
	// them (see benchCleanup).
	KeyPrefix string       `json:"key_prefix"`
	Kept      bool         `json:"kept"`
	Cleanup   *cleanupJSON `json:"cleanup,omitempty"`
}

type histBucket struct {
	UpToUS int `json:"le_us"`
	Count  int `json:"count"`
}

func runBench(ctx context.Context, bc benchConfig, s streams) error {
	clients := make([]client, bc.conns)
	for i := range clients {
		dctx, cancel := context.WithTimeout(ctx, bc.timeout)
		cl, err := connect(dctx, bc.dial, bc.addr)
		cancel()
		if err != nil {
			return failf("cannot reach coordinator at %s: %v", bc.addr, err)
		}
		clients[i] = cl
		defer release(cl)
	}
	lat := make([]time.Duration, bc.n)
	outcome := make([]wire.State, bc.n)
	var (
		next, done atomic.Int64
		mu         sync.Mutex // protects following
		reasons    = map[string]int{}
		nerr       int
		firstErr   error
		lost       atomic.Bool // a connection to the coordinator ended: stop firing
	)
	stop := make(chan struct{})
	if bc.progress != nil {
		go showProgress(bc.progress, bc.n, &done, stop)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < bc.c; w++ {
		wg.Add(1)
		go func(cl client) {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= bc.n || ctx.Err() != nil || lost.Load() {
					return
				}
				key := bc.key(i)
				tctx, cancel := context.WithTimeout(ctx, bc.timeout)
				t0 := time.Now()
				res, err := cl.Start(tctx, fmt.Sprintf("%s-%d", bc.prefix, i), bc.proto, []wire.Op{{Kind: wire.OpAdd, Key: key, Delta: 1}})
				cancel()
				lat[i] = time.Since(t0)
				done.Add(1)
				if err != nil {
					mu.Lock()
					nerr++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					if connectionLost(err) {
						lost.Store(true)
						return
					}
					continue
				}
				outcome[i] = res.Outcome
				if res.Outcome != wire.StateCommitted {
					mu.Lock()
					reasons[shortReason(res.Reason)]++
					mu.Unlock()
				}
			}
		}(clients[w%len(clients)])
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	if bc.progress != nil {
		fmt.Fprint(bc.progress, "\r\033[K")
	}
	res := summarize(bc, lat, outcome, elapsed)
	res.Errors, res.AbortReason = nerr, reasons
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	// After the figures are taken: the clean-up is not part of them.
	res.KeyPrefix, res.Kept = fmt.Sprintf("%s%s/", benchKeys, bc.prefix), bc.keep
	if !bc.keep && !lost.Load() {
		res.Cleanup = cleanup(ctx, bc, clients[0])
	}
	if bc.json {
		if err := writeJSON(s.out, res); err != nil {
			return err
		}
	} else {
		printBench(s.out, res)
	}
	switch {
	case lost.Load():
		return failf("bench: the connection to the coordinator at %s was lost after %d of %d transactions (%s); stopped, the rest were not sent; keys remain under %s",
			bc.addr, done.Load(), bc.n, res.FirstError, res.KeyPrefix)
	case ctx.Err() != nil:
		return failf("bench interrupted after %d of %d transactions", done.Load(), bc.n)
	case res.Cleanup != nil && res.Cleanup.Error != "":
		return failf("bench: clean-up failed, keys remain under %s: %s", res.KeyPrefix, res.Cleanup.Error)
	case res.Errors > 0:
		return failf("bench: %d transactions failed; first: %s", res.Errors, res.FirstError)
	case res.Aborted > 0:
		return exitWith(1)
	}
	return nil
}

// summarize sums the run up. Latencies are those of the transactions
// with an outcome (lat[i] and outcome[i] belong to transaction i): a
// failed or never-sent one has no latency to count.
func summarize(bc benchConfig, lat []time.Duration, outcome []wire.State, elapsed time.Duration) benchResult {
	res := benchResult{Coordinator: bc.addr, Protocol: string(bc.proto), Concurrency: bc.c, Requested: bc.n,
		Seconds: elapsed.Seconds(), LatencyUS: map[string]int{}}
	var sorted []time.Duration
	for i, o := range outcome {
		switch o {
		case wire.StateCommitted:
			res.Committed++
		case wire.StateAborted:
			res.Aborted++
		default:
			continue
		}
		sorted = append(sorted, lat[i])
	}
	res.TxPerSec = float64(res.Committed+res.Aborted) / elapsed.Seconds()
	if len(sorted) == 0 {
		return res
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	pct := func(p float64) int { return int(sorted[int(p*float64(len(sorted)-1))].Microseconds()) }
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	res.LatencyUS["p50"], res.LatencyUS["p90"], res.LatencyUS["p99"] = pct(0.50), pct(0.90), pct(0.99)
	res.LatencyUS["p999"], res.LatencyUS["max"] = pct(0.999), int(sorted[len(sorted)-1].Microseconds())
	res.LatencyUS["mean"] = int((sum / time.Duration(len(sorted))).Microseconds())
	// Buckets double from 100 µs up to the one holding the maximum.
	for up := 100; ; up *= 2 {
		res.Histogram = append(res.Histogram, histBucket{UpToUS: up})
		if up >= res.LatencyUS["max"] {
			break
		}
	}
	for _, d := range sorted {
		i := sort.Search(len(res.Histogram), func(i int) bool { return int(d.Microseconds()) <= res.Histogram[i].UpToUS })
		res.Histogram[min(i, len(res.Histogram)-1)].Count++
	}
	return res
}

func printBench(w io.Writer, r benchResult) {
	fmt.Fprintf(w, "%s against %s, concurrency %d: %d committed, %d aborted, %d errors in %.2fs\n",
		r.Protocol, r.Coordinator, r.Concurrency, r.Committed, r.Aborted, r.Errors, r.Seconds)
	fmt.Fprintf(w, "throughput  %.0f tx/s\n", r.TxPerSec)
	l := r.LatencyUS
	fmt.Fprintf(w, "latency     p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s)\n",
		us(l["p50"]), us(l["p90"]), us(l["p99"]), us(l["p999"]), us(l["max"]), us(l["mean"]))
	peak := 1
	for _, b := range r.Histogram {
		peak = max(peak, b.Count)
	}
	for _, b := range r.Histogram {
		if b.Count == 0 {
			continue
		}
		bar := strings.Repeat("#", int(math.Ceil(40*float64(b.Count)/float64(peak))))
		fmt.Fprintf(w, "  <= %-8s %7d  %s\n", us(b.UpToUS), b.Count, bar)
	}
	for reason, n := range r.AbortReason {
		fmt.Fprintf(w, "aborted %d: %s\n", n, reason)
	}
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
	switch c := r.Cleanup; {
	case r.Kept:
		fmt.Fprintf(w, "keys kept under %s (--keep)\n", r.KeyPrefix)
	case c != nil && c.Error == "":
		fmt.Fprintf(w, "cleaned up  %d keys under %s deleted in %d transactions (%.2fs, not counted above)\n", c.Keys, r.KeyPrefix, c.Transactions, c.Seconds)
	}
}

func us(v int) string {
	switch {
	case v >= 1_000_000:
		return fmt.Sprintf("%.2fs", float64(v)/1e6)
	case v >= 1000:
		return fmt.Sprintf("%.2fms", float64(v)/1e3)
	}
	return fmt.Sprintf("%dµs", v)
}

// shortReason groups abort reasons that differ only by transaction id.
func shortReason(r string) string {
	if i := strings.Index(r, " is locked by "); i >= 0 {
		return r[:i] + " is locked by another transaction"
	}
	return r
}

func showProgress(w io.Writer, n int, done *atomic.Int64, stop <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d := int(done.Load())
			width := 30
			fill := width * d / n
			fmt.Fprintf(w, "\r[%s%s] %d/%d", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), d, n)
		}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
