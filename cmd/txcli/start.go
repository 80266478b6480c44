package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/txd/txd/wire"
	"github.com/urfave/cli/v2"
)

const startArgsUsage = "TXID 2PC|3PC|PARALLEL OP..."

const startDescription = `Asks the coordinator to run transaction TXID with two-phase (2PC),
three-phase (3PC) or parallel (PARALLEL) commit, waits for the outcome and
prints it.

Operations (a verb may name the participant that runs it, "B:ADD ...";
without one every participant runs it):
   SET KEY VALUE    ADD KEY DELTA    DEL KEY

   txcli --coord ADDR start TX1 2PC SET balance 1000
   txcli --coord ADDR start T2 2PC B:ADD balance -100 C:ADD balance 100
   txcli start --json --coord ADDR TX3 3PC DEL balance
   txcli --coord ADDR start TX4 PARALLEL ADD balance 5

Flags go before TXID. Exit code: 0 COMMITTED, 1 ABORTED, 2 error, including
an unknown outcome (the connection ended or --timeout passed before the
answer): then "txcli --coord ADDR status" shows it, and starting the same
TXID again returns its recorded outcome.`

// startConfig is a validated start command.
type startConfig struct {
	config
	addr  string // the coordinator's normalized address
	txid  string
	proto wire.Protocol
	ops   []wire.Op
}

func startCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:         "start",
		Usage:        "run a transaction and print its outcome",
		ArgsUsage:    startArgsUsage,
		Description:  startDescription,
		Flags:        commandFlags(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			sc, err := parseStart(cfg, c.Args().Slice())
			if err != nil {
				return err
			}
			return runStart(c.Context, sc, s)
		},
	}
}

// parseStart validates start's flags and arguments.
func parseStart(cfg config, args []string) (startConfig, error) {
	sc := startConfig{config: cfg}
	if cfg.coord == "" {
		if cfg.participant != "" {
			return sc, failf("start needs --coord ADDR (or TXCLI_COORD): transactions run on the coordinator; --participant is for status")
		}
		return sc, failf("start needs --coord ADDR (or TXCLI_COORD)")
	}
	addr, err := wire.NormalizeAddr(cfg.coord)
	if err != nil {
		return sc, failf("--coord: %v", err)
	}
	sc.addr = addr

	usage := " (usage: txcli --coord ADDR start " + startArgsUsage + ")"
	switch len(args) {
	case 0:
		return sc, failf("start: missing transaction id%s", usage)
	case 1:
		return sc, failf("start: missing protocol, 2PC, 3PC or PARALLEL%s", usage)
	case 2:
		return sc, failf("start: missing operations, e.g. SET balance 1000%s", usage)
	}
	hint := flagHint(args)
	if err := wire.CheckID("transaction id", args[0]); err != nil {
		return sc, failf("start: %v%s", err, hint)
	}
	if sc.proto, err = wire.ParseProtocol(args[1]); err != nil {
		return sc, failf("start: %v%s", err, hint)
	}
	if sc.ops, err = wire.ParseOps(args[2:]); err != nil {
		return sc, failf("start: %v%s", err, hint)
	}
	sc.txid = args[0]
	return sc, nil
}

// flagHint explains a parse error caused by a flag typed after TXID, which
// urfave/cli leaves among the arguments.
func flagHint(args []string) string {
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && isFlagName(name) {
			return fmt.Sprintf(" (flags such as %s go before the transaction id: txcli start %s TXID ...)", a, a)
		}
	}
	return ""
}

func isFlagName(name string) bool {
	switch name {
	case "coord", "participant", "json", "timeout", "help", "h":
		return true
	}
	return false
}

// runStart runs the transaction and prints its outcome. Aborted exits 1.
func runStart(ctx context.Context, sc startConfig, s streams) error {
	ctx, cancel := context.WithTimeout(ctx, sc.timeout)
	defer cancel()

	c, err := connect(ctx, sc.dial, sc.addr)
	if err != nil {
		return sc.failed(s, startJSON{}, "cannot reach coordinator at %s: %s", sc.coord, describe(ctx, err, sc.timeout))
	}
	defer release(c)
	if r := c.Remote(); r.Role != "" && r.Role != wire.RoleCoordinator {
		return sc.failed(s, startJSON{}, "%s is %s %s, not a coordinator", sc.coord, r.Role, r.NodeID)
	}

	res, err := await(ctx, func(ctx context.Context) (*wire.StartResult, error) {
		return c.Start(ctx, sc.txid, sc.proto, sc.ops)
	})
	if re, ok := remoteError(err); ok {
		msg := re.Msg
		if msg == "" {
			msg = string(re.Code)
		}
		return sc.failed(s, startJSON{Error: msg, Code: string(re.Code)},
			"coordinator at %s refused %s: %s", sc.coord, sc.txid, refusal(re))
	}
	if err == nil && res == nil {
		err = errors.New("empty answer")
	}
	if err != nil {
		return sc.failed(s, startJSON{Outcome: outcomeUnknown}, "%s", sc.unknown(ctx, err))
	}

	out := startJSON{ID: res.TxID, Protocol: string(res.Protocol), Outcome: string(res.Outcome)}
	if out.ID == "" {
		out.ID = sc.txid
	}
	if out.Protocol == "" {
		out.Protocol = string(sc.proto)
	}
	code := exitOK
	switch res.Outcome {
	case wire.StateCommitted:
	case wire.StateAborted:
		out.Reason = res.Reason
		code = exitAborted
	default:
		return sc.failed(s, out, "coordinator answered %q for %s, neither COMMITTED nor ABORTED", res.Outcome, sc.txid)
	}
	if sc.json {
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	} else {
		line := fmt.Sprintf("%s (%s): %s", out.ID, out.Protocol, out.Outcome)
		if out.Reason != "" {
			line += " (" + oneLine(out.Reason) + ")"
		}
		fmt.Fprintln(s.out, line)
	}
	if code != exitOK {
		return exitWith(code)
	}
	return nil
}

// unknown explains that the outcome did not arrive and how to learn it.
func (sc startConfig) unknown(ctx context.Context, err error) string {
	what := "start " + sc.txid + ": " + err.Error() + ";"
	switch {
	case connectionLost(err):
		what = fmt.Sprintf("connection to coordinator lost before %s's outcome arrived;", sc.txid)
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		what = fmt.Sprintf("interrupted before %s's outcome arrived;", sc.txid)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		what = fmt.Sprintf("no answer from coordinator within %v;", sc.timeout)
	}
	return fmt.Sprintf("%s the outcome is unknown: run \"txcli --coord %s status\" (or start %s again: a known id returns its recorded outcome)",
		what, sc.coord, sc.txid)
}

// failed reports a start that did not produce an outcome: the message on
// stderr and, with --json, out (completed with the id, protocol and error)
// on stdout. It exits 2.
func (sc startConfig) failed(s streams, out startJSON, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if sc.json {
		if out.ID == "" {
			out.ID = sc.txid
		}
		if out.Protocol == "" {
			out.Protocol = string(sc.proto)
		}
		if out.Error == "" {
			out.Error = oneLine(msg)
		}
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	}
	return failf("%s", msg)
}
