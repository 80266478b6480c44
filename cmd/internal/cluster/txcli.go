package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Result is one finished txcli run.
type Result struct {
	Args    []string
	Code    int // exit code; -1 if it did not exit normally
	Stdout  string
	Stderr  string
	Elapsed time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("txcli %s: exit %d after %v\nstdout: %s\nstderr: %s",
		strings.Join(r.Args, " "), r.Code, r.Elapsed.Round(time.Millisecond),
		strings.TrimSpace(r.Stdout), strings.TrimSpace(r.Stderr))
}

// RunTimeout bounds one txcli run (it is also given a shorter --timeout by
// the helpers that talk to nodes).
const RunTimeout = 30 * time.Second

// cleanEnv is the environment without the TXD_ and TXCLI_ variables, which
// would silently change the nodes' or txcli's flags.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TXD_") || strings.HasPrefix(kv, "TXCLI_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Txcli runs the txcli binary with args and waits for it. The error is for
// a txcli that could not be run or did not exit by itself within
// RunTimeout; a non-zero exit code is not an error.
func (b *Binaries) Txcli(ctx context.Context, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.TXCLI, args...)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Args: args, Code: -1, Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	if cmd.ProcessState != nil {
		r.Code = cmd.ProcessState.ExitCode()
	}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s\ndid not finish within %v", r, RunTimeout)
	case err != nil && !errors.As(err, &exit):
		return r, fmt.Errorf("running txcli: %v", err)
	case r.Code < 0:
		return r, fmt.Errorf("%s\ndid not exit normally: %v", r, err)
	}
	return r, nil
}

// The JSON txcli prints with --json (see cmd/txcli/output.go).

// StartOut is the answer of "txcli --json start".
type StartOut struct {
	ID       string `json:"id"`
	Protocol string `json:"protocol"`
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Error    string `json:"error"`
	Code     string `json:"code"`
}

// TxOut is one transaction as a node sees it; Participants is the
// coordinator's view of each member.
type TxOut struct {
	ID           string            `json:"id"`
	Protocol     string            `json:"protocol"`
	State        string            `json:"state"`
	Reason       string            `json:"reason"`
	Participants map[string]string `json:"participants"`
	Heuristic    bool              `json:"heuristic"`        // applied by an operator (txcli resolve)
	Damage       bool              `json:"heuristic_damage"` // ... against the decision
}

// ParticipantOut is "txcli --json --participant ADDR status".
type ParticipantOut struct {
	ID           string            `json:"id"`
	Role         string            `json:"role"`
	Store        map[string]string `json:"store"`
	Transactions []TxOut           `json:"transactions"`
	// Keys counts the whole store; Store holds it only when small
	// (StoreTruncated false).
	Keys           int  `json:"keys"`
	StoreTruncated bool `json:"store_truncated"`
}

// Tx returns the transaction id as this participant sees it.
func (p ParticipantOut) Tx(id string) (TxOut, bool) { return findTx(p.Transactions, id) }

// TxState is the state of transaction id here, "" if not listed.
func (p ParticipantOut) TxState(id string) string {
	tx, _ := p.Tx(id)
	return tx.State
}

// PeerOut is a participant in the coordinator's status.
type PeerOut struct {
	ID           string            `json:"id"`
	Addr         string            `json:"addr"`
	Connected    bool              `json:"connected"`
	Reachable    *bool             `json:"reachable"`
	Error        string            `json:"error"`
	Store        map[string]string `json:"store"`
	Transactions []TxOut           `json:"transactions"`
}

// CoordOut is "txcli --json --coord ADDR status".
type CoordOut struct {
	ID           string    `json:"id"`
	Role         string    `json:"role"`
	Participants []PeerOut `json:"participants"`
	Transactions []TxOut   `json:"transactions"`
}

// Tx returns transaction id as the coordinator sees it.
func (c CoordOut) Tx(id string) (TxOut, bool) { return findTx(c.Transactions, id) }

// Peer returns the participant id as the coordinator lists it.
func (c CoordOut) Peer(id string) (PeerOut, bool) {
	for _, p := range c.Participants {
		if p.ID == id {
			return p, true
		}
	}
	return PeerOut{}, false
}

func findTx(txs []TxOut, id string) (TxOut, bool) {
	for _, tx := range txs {
		if tx.ID == id {
			return tx, true
		}
	}
	return TxOut{}, false
}

// decode parses stdout as exactly one JSON value of v's type.
func decode(r Result, v any) error {
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s\nstdout is not the expected JSON: %v", r, err)
	}
	if dec.More() {
		return fmt.Errorf("%s\nstdout holds more than one JSON value", r)
	}
	return nil
}

// statusTimeout is txcli's --timeout for status requests: a node that
// accepts but does not answer must not stall a poll loop.
const statusTimeout = "2s"

// ParticipantStatus runs "txcli --json --participant addr status". A
// non-zero exit (node down) is an error.
func (b *Binaries) ParticipantStatus(ctx context.Context, addr string) (ParticipantOut, error) {
	var out ParticipantOut
	r, err := b.Txcli(ctx, "--json", "--timeout", statusTimeout, "--participant", addr, "status")
	if err != nil {
		return out, err
	}
	if r.Code != 0 {
		return out, fmt.Errorf("status of participant at %s: exit %d: %s", addr, r.Code, strings.TrimSpace(r.Stderr))
	}
	return out, decode(r, &out)
}

// CoordStatus runs "txcli --json --coord addr status". A non-zero exit
// (coordinator down) is an error.
func (b *Binaries) CoordStatus(ctx context.Context, addr string) (CoordOut, error) {
	var out CoordOut
	r, err := b.Txcli(ctx, "--json", "--timeout", statusTimeout, "--coord", addr, "status")
	if err != nil {
		return out, err
	}
	if r.Code != 0 {
		return out, fmt.Errorf("status of coordinator at %s: exit %d: %s", addr, r.Code, strings.TrimSpace(r.Stderr))
	}
	return out, decode(r, &out)
}

// StartTx runs "txcli --json --coord addr start txid proto ops..." and
// parses its JSON, which txcli prints for every outcome including errors
// after the arguments were understood. For an argument error (no JSON) out
// is zero and err is nil: check r.Code and r.Stderr.
func (b *Binaries) StartTx(ctx context.Context, addr, txid, proto string, ops ...string) (StartOut, Result, error) {
	var out StartOut
	args := append([]string{"--json", "--timeout", "20s", "--coord", addr, "start", txid, proto}, ops...)
	r, err := b.Txcli(ctx, args...)
	if err != nil {
		return out, r, err
	}
	if strings.TrimSpace(r.Stdout) == "" {
		return out, r, nil
	}
	return out, r, decode(r, &out)
}
