package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/txd/txd/wire"
	"github.com/urfave/cli/v2"
)

const resolveArgsUsage = "TXID commit|abort"

const resolveDescription = `Applies an outcome chosen by an operator to a transaction that the
participant holds in doubt (READY, or PRECOMMITTED in 3PC): a heuristic
decision, for when the coordinator is gone for good and you know what it
decided (or must end the blocking anyway). The participant logs the outcome
as HEURISTIC before it answers, applies it, releases the transaction's locks,
and shows it as heuristic in status from then on, also after a restart.

WARNING: if the coordinator decided the other way, the transaction is no
longer atomic (heuristic damage) and nothing can undo it. Resolve every
participant in doubt about the transaction the same way. If the coordinator
comes back, the participant acknowledges its decision either way and, when
it contradicts, logs an error and shows "heuristic damage" in status.

   txcli --participant http://IP_B:8001 resolve --yes TX1 commit
   txcli --participant http://IP_C:8002 resolve TX1 commit     (asks on a terminal)

The participant refuses (exit 1) a transaction it does not know, one it has
not voted on, and one already decided the other way. One already decided the
same way is reported and exits 0. Exit codes: 0 done (or already so), 1
refused (nothing changed) or not confirmed, 2 usage error, participant
unreachable, or no answer (then whether it was applied is unknown: see status).`

// resolveJSON is resolve's answer with --json.
type resolveJSON struct {
	ID          string `json:"id"`
	Participant string `json:"participant,omitempty"` // its node id
	Requested   string `json:"requested"`             // COMMIT or ABORT
	State       string `json:"state,omitempty"`       // the transaction's state there afterwards
	Heuristic   bool   `json:"heuristic"`             // that state was applied by an operator
	Applied     bool   `json:"applied"`               // this request applied it
	Refused     bool   `json:"refused"`               // nothing changed; see reason
	Reason      string `json:"reason,omitempty"`
	Error       string `json:"error,omitempty"`
	Code        string `json:"code,omitempty"` // the node's error code
}

// stdin is where a person may answer a question: it travels in the
// context, like the TLS identity, so that tests can play the person.
type stdin struct {
	r   io.Reader
	tty bool // r is a terminal: someone is there to answer
}

type stdinKey struct{}

func withStdin(ctx context.Context, r io.Reader, tty bool) context.Context {
	return context.WithValue(ctx, stdinKey{}, stdin{r, tty})
}

// resolveConfig is a validated resolve command.
type resolveConfig struct {
	config
	addr   string // the participant's normalized address
	txid   string
	commit bool
	yes    bool
}

// resolver is what resolve needs of a connection: *transport.Client has it.
type resolver interface {
	Resolve(ctx context.Context, txid string, commit bool) (*wire.ResolveResult, error)
}

func resolveCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:        "resolve",
		Usage:       "apply a heuristic outcome to a transaction a participant holds in doubt (operators only)",
		ArgsUsage:   resolveArgsUsage,
		Description: resolveDescription,
		Flags: append(commandFlags(), &cli.BoolFlag{Name: "yes",
			Usage: "do not ask for confirmation (required when stdin is not a terminal)"}),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			rc, err := parseResolve(cfg, c.Args().Slice())
			if err != nil {
				return err
			}
			rc.yes = c.Bool("yes")
			return runResolve(c.Context, rc, s)
		},
	}
}

// parseResolve validates resolve's flags and arguments.
func parseResolve(cfg config, args []string) (resolveConfig, error) {
	rc := resolveConfig{config: cfg}
	if cfg.participant == "" {
		return rc, failf("resolve needs --participant ADDR (or TXCLI_PARTICIPANT): a heuristic decision is applied to one participant")
	}
	addr, err := wire.NormalizeAddr(cfg.participant)
	if err != nil {
		return rc, failf("--participant: %v", err)
	}
	rc.addr = addr
	usage := " (usage: txcli --participant ADDR resolve [--yes] " + resolveArgsUsage + ")"
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			return rc, failf("resolve: flags such as %s go before the transaction id: txcli resolve %s TXID commit|abort", a, a)
		}
	}
	if len(args) != 2 {
		return rc, failf("resolve takes a transaction id and commit or abort, got %d arguments%s", len(args), usage)
	}
	if err := wire.CheckID("transaction id", args[0]); err != nil {
		return rc, failf("resolve: %v%s", err, usage)
	}
	rc.txid = args[0]
	switch strings.ToLower(args[1]) {
	case "commit":
		rc.commit = true
	case "abort":
	default:
		return rc, failf("resolve: outcome %q is neither commit nor abort%s", args[1], usage)
	}
	return rc, nil
}

func (rc resolveConfig) verb() string {
	if rc.commit {
		return "COMMIT"
	}
	return "ABORT"
}

// warn says, before anything is done, what a heuristic decision risks.
func (rc resolveConfig) warn(s streams) {
	fmt.Fprintf(s.err, "txcli: WARNING: heuristic decision: participant %s will %s transaction %s without its coordinator.\n"+
		"  If the coordinator decided otherwise, the transaction stops being atomic (heuristic damage)\n"+
		"  and nothing can undo it. Go on only if the coordinator is gone for good and you know its\n"+
		"  outcome, and resolve every participant in doubt about %s the same way.\n",
		rc.participant, rc.verb(), rc.txid, rc.txid)
}

// confirm asks on a terminal; without one, --yes is required.
func (rc resolveConfig) confirm(ctx context.Context, s streams) error {
	if rc.yes {
		return nil
	}
	in, _ := ctx.Value(stdinKey{}).(stdin)
	if !in.tty || in.r == nil {
		return failf("resolve: not confirmed: stdin is not a terminal, so pass --yes to confirm (nothing was done)")
	}
	fmt.Fprintf(s.err, "Type \"yes\" to %s %s on %s: ", rc.verb(), rc.txid, rc.participant)
	line, err := bufio.NewReader(in.r).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(s.err)
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "yes" && a != "y" {
		return &exitErr{code: exitAborted, msg: "resolve: not confirmed; nothing was done"}
	}
	return nil
}

// runResolve warns, confirms, sends the request and prints the answer.
func runResolve(ctx context.Context, rc resolveConfig, s streams) error {
	rc.warn(s)
	if err := rc.confirm(ctx, s); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()

	out := resolveJSON{ID: rc.txid, Requested: rc.verb()}
	c, err := connect(ctx, rc.dial, rc.addr)
	if err != nil {
		return rc.failed(s, out, "cannot reach participant at %s: %s (nothing was done)", rc.participant, describe(ctx, err, rc.timeout))
	}
	defer release(c)
	r := c.Remote()
	out.Participant = r.NodeID
	if r.Role != "" && r.Role != wire.RoleParticipant {
		return rc.failed(s, out, "%s is %s %s, not a participant (nothing was done)", rc.participant, roleName(r.Role), cell(r.NodeID))
	}
	rv, ok := c.(resolver)
	if !ok {
		return rc.failed(s, out, "this connection cannot send resolve requests")
	}
	res, err := await(ctx, func(ctx context.Context) (*wire.ResolveResult, error) {
		return rv.Resolve(ctx, rc.txid, rc.commit)
	})
	if re, ok := remoteError(err); ok {
		out.Code = string(re.Code)
		return rc.failed(s, out, "participant at %s could not handle the request: %s (nothing was done)", rc.participant, refusal(re))
	}
	if err == nil && res == nil {
		err = errors.New("empty answer")
	}
	if err != nil {
		return rc.failed(s, out, "no answer from participant at %s (%s): whether %s was resolved is unknown; see \"txcli --participant %s status\"",
			rc.participant, describe(ctx, err, rc.timeout), rc.txid, rc.participant)
	}

	out.State, out.Heuristic, out.Applied, out.Refused, out.Reason = string(res.State), res.Heuristic, res.Applied, res.Refused, res.Reason
	who := cell(r.NodeID)
	if rc.json {
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	}
	if res.Refused {
		return &exitErr{code: exitAborted, msg: fmt.Sprintf("participant %s refused: %s", who, orElse(res.Reason, "no reason given"))}
	}
	if !rc.json {
		switch {
		case res.Applied:
			fmt.Fprintf(s.out, "%s on participant %s: %s (heuristic: logged, locks released)\n", rc.txid, who, showState(res.State))
		default:
			fmt.Fprintf(s.out, "%s on participant %s: %s; nothing done (%s)\n", rc.txid, who, showState(res.State), oneLine(res.Reason))
		}
	}
	return nil
}

// failed reports a resolve that got no answer: the message on stderr and,
// with --json, out on stdout. It exits 2.
func (rc resolveConfig) failed(s streams, out resolveJSON, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if rc.json {
		out.Error = oneLine(msg)
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	}
	return failf("%s", msg)
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
