package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/wire"
)

const watchDescription = `A live view of the cluster through its coordinator, refreshed every
--interval: every node (the coordinator up or down; each participant
connected to it or not, and reachable by txcli or not), each transaction in
flight with every participant's state as it moves (INIT, READY,
PRECOMMITTED, COMMITTED, ABORTED), recent outcomes with their reasons, who
is in doubt (READY or PRECOMMITTED, or not yet acknowledging a decision, for
longer than --in-doubt), and commits/s, aborts/s and p50/p99 latency over
the last 10 s.

On a terminal it is a full-screen view (q or Ctrl-C quits). Otherwise (a
pipe, a file, or --plain) it prints one line per change; with --json one
JSON object per line (see docs/txcli.md). It keeps running while the coordinator
is down (it says so once; what it last reported is marked stale) and picks it
up again when it is back. --endpoints A,B,C names nodes of any role to ask
directly: every participant among them is shown, with what it holds in
doubt and for how long, even if the coordinator never answers.

   txcli --coord http://COORD_IP:8000 watch
   txcli --coord COORD_IP:8000 watch --json --duration 30s > events.jsonl
   txcli --endpoints COORD_IP:8000,B_IP:8001,C_IP:8002 watch

Exit codes: 0 when stopped (q, Ctrl-C, SIGTERM, --count or --duration),
2 on bad arguments (also: --coord names a participant).`

// watchConfig is a validated watch command.
type watchConfig struct {
	config
	addr      string   // the coordinator's normalized address ("" : find it among the endpoints)
	endpoints []string // --endpoints, normalized
	interval  time.Duration
	count     int           // refreshes before stopping; 0: no limit
	duration  time.Duration // how long before stopping; 0: no limit
	inDoubt   time.Duration
	plain     bool // line output even on a terminal
}

func watchCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:         "watch",
		Usage:        "live view of the cluster (--coord): nodes, transactions as they move, outcomes, throughput",
		Description:  watchDescription,
		OnUsageError: onUsageError,
		Flags: append(commandFlags(),
			&cli.DurationFlag{Name: "interval", Usage: "refresh every `D`", Value: 200 * time.Millisecond, EnvVars: []string{"TXCLI_WATCH_INTERVAL"}},
			&cli.IntFlag{Name: "count", Usage: "stop after `N` refreshes (0: never)", EnvVars: []string{"TXCLI_WATCH_COUNT"}},
			&cli.DurationFlag{Name: "duration", Usage: "stop after `D` (0: never)", EnvVars: []string{"TXCLI_WATCH_DURATION"}},
			&cli.DurationFlag{Name: "in-doubt", Usage: "flag a participant READY/PRECOMMITTED (or not acknowledging a decision) for `D`", Value: time.Second, EnvVars: []string{"TXCLI_WATCH_IN_DOUBT"}},
			&cli.BoolFlag{Name: "plain", Usage: "print one line per change even on a terminal", EnvVars: []string{"TXCLI_WATCH_PLAIN"}},
		),
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			wc, err := parseWatch(cfg, c.Args().Slice(), c.Duration("interval"), c.Int("count"), c.Duration("duration"), c.Duration("in-doubt"))
			if err != nil {
				return err
			}
			wc.plain = c.Bool("plain")
			return runWatch(c.Context, wc, s)
		},
	}
}

// parseWatch validates watch's flags and arguments.
func parseWatch(cfg config, args []string, interval time.Duration, count int, duration, inDoubt time.Duration) (watchConfig, error) {
	wc := watchConfig{config: cfg, interval: interval, count: count, duration: duration, inDoubt: inDoubt}
	switch {
	case len(args) > 0:
		return wc, failf("watch takes no arguments, got %q", strings.Join(args, " "))
	case cfg.coord == "" && cfg.endpoints == "":
		return wc, failf("watch needs --coord ADDR (or TXCLI_COORD), or --endpoints A,B,C (nodes of any role): it watches the cluster through its coordinator and the nodes named")
	case interval < 10*time.Millisecond:
		return wc, failf("--interval must be at least 10ms, not %v", interval)
	case count < 0:
		return wc, failf("--count must not be negative, not %d", count)
	case duration < 0:
		return wc, failf("--duration must not be negative, not %v", duration)
	case inDoubt <= 0:
		return wc, failf("--in-doubt must be positive, not %v", inDoubt)
	}
	eps, err := cfg.endpointList()
	if err != nil {
		return wc, err
	}
	wc.endpoints = eps
	if cfg.coord != "" {
		addr, err := wire.NormalizeAddr(cfg.coord)
		if err != nil {
			return wc, failf("--coord: %v", err)
		}
		wc.addr = addr
	}
	return wc, nil
}

// pollTimeout bounds one refresh: a stopped (SIGSTOP) coordinator shows as
// down after this long, not after --timeout.
func (wc watchConfig) pollTimeout() time.Duration {
	return min(wc.timeout, max(time.Second, 2*wc.interval))
}

// runWatch runs until ctx ends, q, --count or --duration. Stopping is not
// an error.
func runWatch(ctx context.Context, wc watchConfig, s streams) error {
	if wc.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wc.duration)
		defer cancel()
	}
	p := &poller{dial: wc.dial, addr: wc.addr, endpoints: wc.endpoints, timeout: wc.pollTimeout(), now: time.Now}
	defer p.close()
	m := newWatchModel(wc.addr, wc.inDoubt)
	if !wc.json && !wc.plain && isTerminal(s.out) {
		return runWatchTUI(ctx, wc, p, m, s)
	}
	out := func(e watchEvent) error {
		_, err := fmt.Fprintln(s.out, eventLine(e))
		return err
	}
	if wc.json {
		out = func(e watchEvent) error { return writeJSON(s.out, e) }
	}
	return watchLoop(ctx, wc, p, m, out)
}

// watchLoop polls every interval and hands each change to out.
func watchLoop(ctx context.Context, wc watchConfig, p *poller, m *watchModel, out func(watchEvent) error) error {
	t := time.NewTicker(wc.interval)
	defer t.Stop()
	for n := 1; ; n++ {
		poll := p.poll(ctx, m.peerList())
		if ctx.Err() != nil {
			return nil // stopping: the last poll was cut short, not the coordinator gone
		}
		if err := p.wrongNode(poll.err); err != nil {
			return err
		}
		for _, e := range m.apply(poll) {
			if err := out(e); err != nil {
				return failf("writing: %v", err) // e.g. the reading end of a pipe closed
			}
		}
		if wc.count > 0 && n >= wc.count {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
