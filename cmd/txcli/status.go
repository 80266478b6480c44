package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/txd/txd/wire"
	"github.com/urfave/cli/v2"
)

// peerTimeout bounds the wait for each participant in the cluster view.
const peerTimeout = 3 * time.Second

const statusDescription = `With --participant ADDR: that participant's store and transactions. A store
of more than 1000 keys is summed up (keys and bytes) instead of shown: read
its keys with "txcli --participant ADDR get KEY..." or "scan".

With --coord ADDR: the coordinator's participants and transactions (with each
participant's state as the coordinator knows it), then every participant's own
status, fetched from the address the coordinator reports with a short timeout;
a participant that cannot be reached is shown as down, which is not an error.
Each member's state in the transaction table is what that participant
itself reports; "*" marks one only the coordinator's record gives. If both
are set, --participant wins. Flags go before or after "status".

With --endpoints A,B,C (nodes of any role): each node's own view, asked
directly, so it works while the coordinator is down: every participant,
what it holds in doubt, for how long and for which coordinator. Exit 2 only
when no node answers. --in-doubt shows only transactions in doubt, --limit N
only the newest N of each node.

   txcli --participant http://IP_B:8001 status
   txcli --coord http://COORD_IP:8000 status --json
   txcli --endpoints COORD_IP:8000,B_IP:8001,C_IP:8002 status --in-doubt

READY (voted yes, waiting for the outcome) and PRECOMMITTED (3PC) are the
states in which a participant is blocked/in doubt.`

// statusConfig is a validated status command.
type statusConfig struct {
	config
	addr  string // the node's normalized address
	given string // the address as the user gave it
	kind  string // "coordinator" or "participant": what the user asked for ("" with --endpoints)
	// endpoints: nodes of any role, each shown with its own view
	// (--endpoints, and --coord when given too).
	endpoints []string
	// Filters of the transactions shown (every node's list).
	inDoubt bool // only those not decided, or decided and not acknowledged by all
	limit   int  // only the newest limit (0: all the node sends)
}

func statusCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:        "status",
		Usage:       "show a participant (--participant) or the whole cluster (--coord)",
		Description: statusDescription,
		Flags: append(commandFlags(),
			&cli.BoolFlag{Name: "in-doubt", Usage: "show only transactions still in doubt: undecided, or decided and not acknowledged by every participant"},
			&cli.IntFlag{Name: "limit", Usage: "show only the newest `N` transactions of each node (0: all it sends, at most 1000 finished)"}),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			sc, err := parseStatus(cfg, c.Args().Slice())
			if err != nil {
				return err
			}
			if sc.inDoubt, sc.limit = c.Bool("in-doubt"), c.Int("limit"); sc.limit < 0 {
				return failf("--limit must not be negative, not %d", sc.limit)
			}
			return runStatus(c.Context, sc, s)
		},
	}
}

// parseStatus validates status's flags and arguments.
func parseStatus(cfg config, args []string) (statusConfig, error) {
	sc := statusConfig{config: cfg}
	if len(args) > 0 {
		return sc, failf("status takes no arguments, got %q", strings.Join(args, " "))
	}
	flag := "--participant"
	if cfg.endpoints != "" && cfg.participant == "" {
		eps, err := cfg.endpointList()
		if err != nil {
			return sc, err
		}
		if cfg.coord != "" {
			addr, err := wire.NormalizeAddr(cfg.coord)
			if err != nil {
				return sc, failf("--coord: %v", err)
			}
			eps = append([]string{addr}, slices.DeleteFunc(eps, func(a string) bool { return a == addr })...)
		}
		sc.endpoints = eps
		return sc, nil
	}
	switch {
	case cfg.participant != "":
		sc.given, sc.kind = cfg.participant, "participant"
	case cfg.coord != "":
		sc.given, sc.kind, flag = cfg.coord, "coordinator", "--coord"
	default:
		return sc, failf("status needs --coord ADDR (the whole cluster), --participant ADDR (one participant) or --endpoints A,B,C (each node's own view), or TXCLI_COORD/TXCLI_PARTICIPANT/TXCLI_ENDPOINTS")
	}
	addr, err := wire.NormalizeAddr(sc.given)
	if err != nil {
		return sc, failf("%s: %v", flag, err)
	}
	sc.addr = addr
	return sc, nil
}

// runStatus prints the node's status; for a coordinator, with its
// participants' own statuses.
func runStatus(ctx context.Context, sc statusConfig, s streams) error {
	if len(sc.endpoints) > 0 {
		return runStatusNodes(ctx, sc, s)
	}
	ctx, cancel := context.WithTimeout(ctx, sc.timeout)
	defer cancel()

	st, err := fetchStatus(ctx, sc.dial, sc.kind, sc.given, sc.addr, sc.timeout)
	if err != nil {
		return failf("%v", err)
	}
	sc.filter(st)
	if role := string(st.Role); role != sc.kind {
		fmt.Fprintf(s.err, "txcli: note: %s is %s %s, not a %s\n", sc.given, roleName(st.Role), cell(st.NodeID), sc.kind)
	}

	if st.Role != wire.RoleCoordinator {
		if sc.json {
			return writeJSON(s.out, toParticipantJSON(st))
		}
		writeParticipant(s.out, st, sc.given)
		return nil
	}
	peers := fetchPeers(ctx, sc.dial, sc.addr, st.Participants)
	for _, p := range peers {
		if p.st != nil {
			sc.filter(p.st)
		}
	}
	if sc.json {
		return writeJSON(s.out, toCoordinatorJSON(st, peers))
	}
	writeCoordinator(s.out, st, peers)
	return nil
}

// fetchStatus asks the kind of node at addr (given: as the user knows it)
// for its status. Its errors are one-line explanations.
func fetchStatus(ctx context.Context, dial dialFunc, kind, given, addr string, timeout time.Duration) (*wire.Status, error) {
	c, err := connect(ctx, dial, addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s at %s: %s", kind, given, describe(ctx, err, timeout))
	}
	defer release(c)
	st, err := await(ctx, func(ctx context.Context) (*wire.Status, error) { return c.Status(ctx) })
	if re, ok := remoteError(err); ok {
		return nil, fmt.Errorf("%s at %s refused the status request: %s", kind, given, refusal(re))
	}
	if err == nil && st == nil {
		return nil, fmt.Errorf("%s at %s sent an empty status", kind, given)
	}
	switch {
	case err == nil:
		return st, nil
	case connectionLost(err):
		return nil, fmt.Errorf("connection to %s at %s lost before its status arrived", kind, given)
	}
	return nil, fmt.Errorf("status of %s at %s: %s", kind, given, describe(ctx, err, timeout))
}

// fetchPeers fetches every participant's own status at once, each with a
// short timeout. Result i belongs to ps[i]; a failure is recorded, not
// returned.
func fetchPeers(ctx context.Context, dial dialFunc, coordAddr string, ps []wire.PeerStatus) []*peerStatus {
	out := make([]*peerStatus, len(ps))
	coordHost, _, _ := net.SplitHostPort(coordAddr)
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = fetchPeer(ctx, dial, coordHost, p)
		}()
	}
	wg.Wait()
	return out
}

func fetchPeer(ctx context.Context, dial dialFunc, coordHost string, p wire.PeerStatus) *peerStatus {
	addr, err := peerAddr(p.Addr, coordHost)
	if err != nil {
		return &peerStatus{err: fmt.Errorf("participant %s: %v", p.ID, err)}
	}
	st, err := fetchShort(ctx, dial, "participant", addr)
	if err != nil {
		return &peerStatus{err: err}
	}
	if st.NodeID != p.ID || st.Role != wire.RoleParticipant {
		return &peerStatus{err: fmt.Errorf("%s is %s %s, not participant %s", addr, roleName(st.Role), cell(st.NodeID), p.ID)}
	}
	return &peerStatus{st: st, addr: addr}
}

// fetchShort is fetchStatus with peerTimeout at most: for the nodes
// asked besides the one named, whose silence is not an error.
func fetchShort(ctx context.Context, dial dialFunc, kind, addr string) (*wire.Status, error) {
	timeout := peerTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = max(0, min(timeout, time.Until(d).Round(time.Millisecond)))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fetchStatus(ctx, dial, kind, addr, addr, timeout)
}

// peerAddr is where to dial a participant the coordinator reports at addr.
// An address without a host or with an unspecified one (":8001",
// "0.0.0.0:8001") is taken to be on the coordinator's host.
func peerAddr(addr, coordHost string) (string, error) {
	bare := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(addr), "http://"), "tcp://")
	if host, port, err := net.SplitHostPort(strings.TrimSuffix(bare, "/")); err == nil && coordHost != "" {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			addr = net.JoinHostPort(coordHost, port)
		}
	}
	return wire.NormalizeAddr(addr)
}

// filter keeps the transactions of st that --in-doubt and --limit ask for,
// in the node's order (oldest first).
func (sc statusConfig) filter(st *wire.Status) {
	txs := st.Transactions
	if sc.inDoubt {
		txs = slices.DeleteFunc(slices.Clone(txs), func(t wire.TxStatus) bool { return !txInDoubt(t) })
	}
	if sc.limit > 0 && len(txs) > sc.limit {
		txs = txs[len(txs)-sc.limit:]
	}
	st.Transactions = txs
}

// txInDoubt: the transaction is not final, or some participant the node
// knows of is not (a decision not yet acknowledged).
func txInDoubt(t wire.TxStatus) bool {
	return !t.State.Final() || !allFinal(t.Participants)
}
