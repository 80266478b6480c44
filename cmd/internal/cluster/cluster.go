package cluster

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/cmd/internal/partition"
)

// Config describes a cluster: one coordinator and its participants.
type Config struct {
	Participants []string      // participant ids; default B and C
	CoordID      string        // default COORD
	PartTimeout  time.Duration // participant --timeout; default 500ms
	CoordTimeout time.Duration // coordinator --timeout (vote wait); default 1s
	CoordDelay   time.Duration // coordinator --delay; 0: none
	LogLevel     string        // --log-level of every node; default $TXD_IT_LOG_LEVEL, else info
	// CoordLogLevel: the coordinator's --log-level, default LogLevel
	// ("debug" for its per-transaction "transaction decided" lines).
	CoordLogLevel string
	// Proxied puts a partition proxy in front of every node and has the
	// nodes reach one another only through them, so that the test can cut
	// and heal links (Cluster.Cut, Partition; partition.go).
	Proxied bool
}

// LogLevelEnv, if set, is the nodes' default --log-level (e.g. debug).
const LogLevelEnv = "TXD_IT_LOG_LEVEL"

func (cfg *Config) defaults() {
	if len(cfg.Participants) == 0 {
		cfg.Participants = []string{"B", "C"}
	}
	if cfg.CoordID == "" {
		cfg.CoordID = "COORD"
	}
	if cfg.PartTimeout <= 0 {
		cfg.PartTimeout = 500 * time.Millisecond
	}
	if cfg.CoordTimeout <= 0 {
		cfg.CoordTimeout = time.Second
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = os.Getenv(LogLevelEnv)
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "info"
	}
}

// Cluster is a running coordinator and participants of one test.
type Cluster struct {
	T     testing.TB
	Bins  *Binaries
	Dir   string // WALs and logs
	Coord *Node
	Parts []*Node // in Config.Participants order
	// Net holds the proxies between the nodes; nil unless Config.Proxied.
	Net *partition.Net
}

// Start starts the participants, then the coordinator, and waits until the
// coordinator is connected to every participant (so it knows their ids).
// Everything is stopped and the logs of a failed test printed in
// t.Cleanup. Any failure to start fails t.
func Start(t testing.TB, bins *Binaries, cfg Config) *Cluster {
	t.Helper()
	c := New(t, bins, cfg)
	for _, p := range c.Parts {
		if err := p.Start(); err != nil {
			t.Fatalf("starting participant %s: %v", p.ID, err)
		}
	}
	c.setParticipantsFlag()
	c.StartCoord()
	return c
}

// New describes a cluster (ports picked, flags set) and registers its
// cleanup, but starts nothing: start the nodes with their Start methods,
// the coordinator with StartCoord.
func New(t testing.TB, bins *Binaries, cfg Config) *Cluster {
	t.Helper()
	cfg.defaults()
	c := &Cluster{T: t, Bins: bins, Dir: t.TempDir()}
	t.Cleanup(c.cleanup) // after t.TempDir's: runs first, before the files go
	for _, id := range cfg.Participants {
		n, err := NewNode(bins, Participant, id, 0, c.Dir)
		if err != nil {
			t.Fatal(err)
		}
		n.SetFlag("timeout", cfg.PartTimeout.String())
		n.SetFlag("log-level", cfg.LogLevel)
		c.Parts = append(c.Parts, n)
	}
	n, err := NewNode(bins, Coordinator, cfg.CoordID, 0, c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	n.SetFlag("timeout", cfg.CoordTimeout.String())
	if cfg.CoordDelay > 0 {
		n.SetFlag("delay", cfg.CoordDelay.String())
	}
	n.SetFlag("log-level", cmp.Or(cfg.CoordLogLevel, cfg.LogLevel))
	c.Coord = n
	if cfg.Proxied {
		c.startProxies()
	}
	c.setParticipantsFlag()
	return c
}

// setParticipantsFlag writes the coordinator's --participants from the
// participants' current ports (their proxies' if proxied), in the seed's
// style ("http://127.0.0.1:P1,127.0.0.1:P2").
func (c *Cluster) setParticipantsFlag() {
	addrs := make([]string, len(c.Parts))
	for i, p := range c.Parts {
		addrs[i] = c.dialAddr(p)
		if i == 0 {
			addrs[i] = "http://" + addrs[i]
		}
	}
	c.Coord.SetFlag("participants", strings.Join(addrs, ","))
}

// StartCoord starts (or restarts) the coordinator and waits until it is
// connected to every running participant.
func (c *Cluster) StartCoord() {
	c.T.Helper()
	if err := c.Coord.Start(); err != nil {
		c.T.Fatalf("starting coordinator: %v", err)
	}
	var up []string
	for _, p := range c.Parts {
		if p.Running() {
			up = append(up, p.ID)
		}
	}
	c.WaitConnected(up...)
}

// WaitConnected waits until the coordinator reports a live connection to
// each participant in ids (by the id it learned from the handshake).
func (c *Cluster) WaitConnected(ids ...string) {
	c.T.Helper()
	Eventually(c.T, 10*time.Second, fmt.Sprintf("coordinator connected to %v", ids), func() error {
		st, err := c.CoordStatus()
		if err != nil {
			return err
		}
		for _, id := range ids {
			if p, ok := st.Peer(id); !ok || !p.Connected {
				return fmt.Errorf("participant %s not connected: %+v", id, st.Participants)
			}
		}
		return nil
	})
}

// Part returns the participant id; unknown ids fail the test.
func (c *Cluster) Part(id string) *Node {
	c.T.Helper()
	i := slices.IndexFunc(c.Parts, func(n *Node) bool { return n.ID == id })
	if i < 0 {
		c.T.Fatalf("no participant %s", id)
	}
	return c.Parts[i]
}

// Txcli runs txcli with args; failing to run it fails the test. Safe from
// any goroutine only through Bins.Txcli, which returns the error instead.
func (c *Cluster) Txcli(args ...string) Result {
	c.T.Helper()
	r, err := c.Bins.Txcli(context.Background(), args...)
	if err != nil {
		c.T.Fatal(err)
	}
	return r
}

// StartTx runs "txcli --json --coord COORD start txid proto ops..." and
// returns its parsed JSON and the run; a txcli that cannot be run or
// prints something other than the JSON fails the test.
func (c *Cluster) StartTx(txid, proto string, ops ...string) (StartOut, Result) {
	c.T.Helper()
	out, r, err := c.Bins.StartTx(context.Background(), c.Coord.Addr(), txid, proto, ops...)
	if err != nil {
		c.T.Fatal(err)
	}
	return out, r
}

// PartStatus is participant id's own status, via txcli. Safe in poll loops.
func (c *Cluster) PartStatus(id string) (ParticipantOut, error) {
	return c.Bins.ParticipantStatus(context.Background(), c.Part(id).Addr())
}

// CoordStatus is the coordinator's status (with its participants'), via
// txcli. Safe in poll loops.
func (c *Cluster) CoordStatus() (CoordOut, error) {
	return c.Bins.CoordStatus(context.Background(), c.Coord.Addr())
}

// MustPartStatus is PartStatus failing the test on error.
func (c *Cluster) MustPartStatus(id string) ParticipantOut {
	c.T.Helper()
	st, err := c.PartStatus(id)
	if err != nil {
		c.T.Fatal(err)
	}
	return st
}

// MustCoordStatus is CoordStatus failing the test on error.
func (c *Cluster) MustCoordStatus() CoordOut {
	c.T.Helper()
	st, err := c.CoordStatus()
	if err != nil {
		c.T.Fatal(err)
	}
	return st
}

// Nodes are the coordinator and the participants.
func (c *Cluster) Nodes() []*Node { return append([]*Node{c.Coord}, c.Parts...) }

// cleanup stops every node (SIGTERM, then SIGKILL) and then the proxies,
// reports crashes and nodes that ignore SIGTERM, and prints every log if
// the test failed.
func (c *Cluster) cleanup() {
	t := c.T
	for _, n := range c.Nodes() {
		if err := n.Stop(); err != nil {
			t.Errorf("stopping: %v", err)
		}
	}
	if c.Net != nil {
		if err := c.Net.Close(); err != nil {
			t.Errorf("closing the proxies: %v", err)
		}
	}
	for _, n := range c.Nodes() {
		for _, e := range n.Unexpected() {
			t.Errorf("%s %s exited without being signalled: %s", n.Role, n.ID, e)
		}
	}
	if t.Failed() {
		for _, n := range c.Nodes() {
			t.Logf("----- %s %s (%s) log %s -----\n%s", n.Role, n.ID, n.Addr(), n.Log, n.LogText())
		}
	}
}
