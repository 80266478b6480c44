package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/txd/txd/wire"
)

// What get and scan share: reading a participant's store over one
// connection.

// reader is what get and scan need of a connection: *transport.Client has it.
type reader interface {
	Get(ctx context.Context, keys []string) ([]wire.GetEntry, error)
	Scan(ctx context.Context, prefix, after string, limit int) (*wire.ScanResult, error)
}

// readConfig is the participant a read goes to.
type readConfig struct {
	config
	addr string // the participant's normalized address
	cmd  string // "get" or "scan", for messages
}

// parseRead checks that --participant names the node to read.
func parseRead(cfg config, cmd string) (readConfig, error) {
	rc := readConfig{config: cfg, cmd: cmd}
	if cfg.participant == "" {
		if cfg.coord != "" {
			return rc, failf("%s needs --participant ADDR (or TXCLI_PARTICIPANT): keys live on the participants, not the coordinator", cmd)
		}
		return rc, failf("%s needs --participant ADDR (or TXCLI_PARTICIPANT)", cmd)
	}
	addr, err := wire.NormalizeAddr(cfg.participant)
	if err != nil {
		return rc, failf("--participant: %v", err)
	}
	rc.addr = addr
	return rc, nil
}

// open connects to the participant. The caller releases the client.
func (rc readConfig) open(ctx context.Context) (client, reader, error) {
	c, err := connect(ctx, rc.dial, rc.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach participant at %s: %s", rc.participant, describe(ctx, err, rc.timeout))
	}
	r := c.Remote()
	if r.Role != "" && r.Role != wire.RoleParticipant {
		release(c)
		return nil, nil, fmt.Errorf("%s is %s %s, not a participant: %s reads a participant's store (--participant ADDR)", rc.participant, roleName(r.Role), cell(r.NodeID), rc.cmd)
	}
	rd, ok := c.(reader)
	if !ok {
		release(c)
		return nil, nil, fmt.Errorf("this connection cannot send %s requests", rc.cmd)
	}
	return c, rd, nil
}

// readFailed explains a read that got no answer.
func (rc readConfig) readFailed(ctx context.Context, err error) error {
	if re, ok := remoteError(err); ok {
		return &codedErr{code: string(re.Code), err: fmt.Errorf("participant at %s refused the %s request: %s", rc.participant, rc.cmd, refusal(re))}
	}
	if connectionLost(err) {
		return fmt.Errorf("connection to participant at %s lost before its answer", rc.participant)
	}
	return fmt.Errorf("%s from participant at %s: %s", rc.cmd, rc.participant, describe(ctx, err, rc.timeout))
}

// codedErr is an error with the node's error code, for --json.
type codedErr struct {
	code string
	err  error
}

func (e *codedErr) Error() string { return e.err.Error() }

// errorCode is err's node error code, or "".
func errorCode(err error) string {
	if e, ok := err.(*codedErr); ok {
		return e.code
	}
	return ""
}

// writeRows prints entries as aligned "KEY  VALUE" rows, safe for a
// terminal (cell quotes what needs it).
func writeRows(w io.Writer, entries []wire.Entry) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\n", cell(e.Key), cell(e.Value))
	}
	tw.Flush()
}
