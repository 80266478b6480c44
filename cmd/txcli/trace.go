package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/wire"
)

const traceDescription = `The timeline of one transaction as the nodes recorded it: every message
each node sent and received and every log record it wrote (forced: made
durable by an fsync; or lazy), with times relative to the first event, drawn
as a sequence diagram with one column per node.

With --coord ADDR: the coordinator's trace, then each participant's, asked
directly at the address the coordinator reports (a short timeout each). With
--participant ADDR: that participant's only.

   txcli --coord http://COORD_IP:8000 trace TX1
   txcli --participant http://IP_B:8001 trace --json TX1

Each node keeps the traces of its last 10000 transactions, in memory. After a
node restarts it still shows the records of the transaction its log holds
(at the time they were written), but not the messages from before the
restart: it says so. Times are each node's own clock.

Exit codes: 0 at least one node has a trace of the transaction (a node that
could not be reached is reported on stderr and in the output); 1 no node
that answered knows the transaction; 2 any error (bad arguments, the node
named by --coord or --participant unreachable).`

// traceConfig is a validated trace command.
type traceConfig struct {
	config
	txid  string
	addr  string // the node's normalized address
	given string // the address as the user gave it
	kind  string // "coordinator" or "participant"
}

func traceCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:         "trace",
		Usage:        "show one transaction's messages and log records on every node, as a sequence diagram",
		ArgsUsage:    "TXID",
		Description:  traceDescription,
		Flags:        commandFlags(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			tc, err := parseTrace(cfg, c.Args().Slice())
			if err != nil {
				return err
			}
			return runTrace(c.Context, tc, s)
		},
	}
}

func parseTrace(cfg config, args []string) (traceConfig, error) {
	tc := traceConfig{config: cfg}
	if len(args) != 1 {
		return tc, failf("trace takes one argument, the transaction id (got %d: %q)", len(args), strings.Join(args, " "))
	}
	if err := wire.CheckID("transaction id", args[0]); err != nil {
		return tc, failf("%v", err)
	}
	tc.txid = args[0]
	flag := "--participant"
	switch {
	case cfg.participant != "":
		tc.given, tc.kind = cfg.participant, "participant"
	case cfg.coord != "":
		tc.given, tc.kind, flag = cfg.coord, "coordinator", "--coord"
	default:
		return tc, failf("trace needs --coord ADDR (every node) or --participant ADDR (one participant), or TXCLI_COORD/TXCLI_PARTICIPANT")
	}
	addr, err := wire.NormalizeAddr(tc.given)
	if err != nil {
		return tc, failf("%s: %v", flag, err)
	}
	tc.addr = addr
	return tc, nil
}

func runTrace(ctx context.Context, tc traceConfig, s streams) error {
	ctx, cancel := context.WithTimeout(ctx, tc.timeout)
	defer cancel()
	first, st, err := fetchTrace(ctx, tc.dial, tc.kind, tc.given, tc.addr, tc.txid, tc.timeout, tc.kind == "coordinator")
	if err != nil {
		return failf("%v", err)
	}
	answers := []traceAnswer{{id: first.NodeID, addr: tc.given, tr: first}}
	if st != nil {
		answers = append(answers, fetchPeerTraces(ctx, tc.dial, tc.addr, st.Participants, tc.txid)...)
	}
	v := buildView(tc.txid, answers)
	for _, n := range v.Nodes {
		if !n.Reachable {
			fmt.Fprintf(s.err, "txcli: warning: %s not asked: %s; its part of the trace is missing\n", cell(nodeLabel(n)), n.Error)
		}
	}
	if tc.json {
		if err := writeJSON(s.out, v); err != nil {
			return err
		}
	} else {
		renderTrace(s.out, v)
	}
	if !v.known() {
		return &exitErr{code: exitAborted, msg: fmt.Sprintf("no node that answered has a trace of %s (unknown, or older than the last 10000 transactions of each node)", cell(tc.txid))}
	}
	return nil
}

// fetchTrace asks the node at addr for its trace of txid and, withStatus,
// for its status (a coordinator's list of participants).
func fetchTrace(ctx context.Context, dial dialFunc, kind, given, addr, txid string, timeout time.Duration, withStatus bool) (*wire.Trace, *wire.Status, error) {
	c, err := connect(ctx, dial, addr)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach %s at %s: %s", kind, given, describe(ctx, err, timeout))
	}
	defer release(c)
	fail := func(what string, err error) error {
		if re, ok := remoteError(err); ok {
			return fmt.Errorf("%s at %s refused the %s request: %s", kind, given, what, refusal(re))
		}
		if connectionLost(err) {
			return fmt.Errorf("connection to %s at %s lost before its %s arrived", kind, given, what)
		}
		return fmt.Errorf("%s of %s at %s: %s", what, kind, given, describe(ctx, err, timeout))
	}
	tr, err := await(ctx, func(ctx context.Context) (*wire.Trace, error) { return c.Trace(ctx, txid) })
	if err == nil && tr == nil {
		err = fmt.Errorf("empty answer")
	}
	if err != nil {
		return nil, nil, fail("trace", err)
	}
	if !withStatus || tr.Role != wire.RoleCoordinator {
		return tr, nil, nil
	}
	st, err := await(ctx, func(ctx context.Context) (*wire.Status, error) { return c.Status(ctx) })
	if err == nil && st == nil {
		err = fmt.Errorf("empty answer")
	}
	if err != nil {
		return nil, nil, fail("status", err)
	}
	return tr, st, nil
}

// fetchPeerTraces asks every participant at once, each with a short
// timeout; a failure is recorded in its answer.
func fetchPeerTraces(ctx context.Context, dial dialFunc, coordAddr string, ps []wire.PeerStatus, txid string) []traceAnswer {
	out := make([]traceAnswer, len(ps))
	coordHost, _, _ := net.SplitHostPort(coordAddr)
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = fetchPeerTrace(ctx, dial, coordHost, p, txid)
		}()
	}
	wg.Wait()
	return out
}

func fetchPeerTrace(ctx context.Context, dial dialFunc, coordHost string, p wire.PeerStatus, txid string) traceAnswer {
	a := traceAnswer{id: p.ID, addr: p.Addr}
	addr, err := peerAddr(p.Addr, coordHost)
	if err != nil {
		a.err = fmt.Errorf("participant %s: %v", p.ID, err)
		return a
	}
	a.addr = addr
	timeout := peerTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = max(0, min(timeout, time.Until(d).Round(time.Millisecond)))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr, _, err := fetchTrace(ctx, dial, "participant", addr, addr, txid, timeout, false)
	switch {
	case err != nil:
		a.err = err
	case tr.NodeID != p.ID || tr.Role != wire.RoleParticipant:
		a.err = fmt.Errorf("%s is %s %s, not participant %s", addr, roleName(tr.Role), cell(tr.NodeID), p.ID)
	default:
		a.tr = tr
	}
	return a
}
