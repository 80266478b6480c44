package main

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/txd/txd/wire"
	"github.com/urfave/cli/v2"
)

const resolveArgsUsage = "TXID commit|abort"

const resolveDescription = `Applies an outcome chosen by an operator to a transaction that its
participants hold in doubt (READY, or PRECOMMITTED in 3PC): a heuristic
decision, for when the coordinator is gone for good and you know what it
decided (or must end the blocking anyway). Each participant logs the
outcome as HEURISTIC before it answers, applies it, releases the
transaction's locks, and shows it as heuristic in status from then on, also
after a restart.

It first asks every node it can: the ones named (--participant, --endpoints,
--coord), then the transaction's other members and its coordinator, as the
participants in doubt report them. It refuses (exit 1, nothing done):
  - an outcome that the coordinator decided, or a member applied, the other
    way (--force does not override this);
  - while the coordinator is reachable (it knows the outcome or can still
    decide), a member applied the outcome through the protocol (the others
    learn it from that member), or the transaction is 3PC (its members
    decide among themselves). --force overrides these with a loud warning;
    each participant records that its outcome was forced and logs an error.
Then it shows what it will do, asks for confirmation (or takes --yes), and
resolves every reachable member in doubt at once (--only: only the
participants named). Members it could not reach are listed: run the same
command again when they are back.

WARNING: if the coordinator decided the other way, the transaction is no
longer atomic (heuristic damage) and nothing can undo it. If the coordinator
comes back, the participants acknowledge its decision either way and, when
it contradicts, log an error and show "heuristic damage" in status.

   txcli --participant http://IP_B:8001 resolve --yes TX1 commit
   txcli --endpoints IP_B:8001,IP_C:8002 resolve TX1 commit     (asks on a terminal)

A participant that does not know the transaction or has not voted on it
refuses too. One already decided the same way is reported and exits 0.
Exit codes: 0 done (or already so), 1 refused (nothing changed) or not
confirmed (also: no --yes and stdin is not a terminal), 2 usage error, no
named node reachable, or no answer from a participant (then whether it was
applied there is unknown: see status).`

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
	// Added with resolving every member at once: forced says --force
	// was given; members lists every member asked, with what it did.
	Forced  bool                `json:"forced"`
	Members []resolveMemberJSON `json:"members,omitempty"`
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
	addrs  []string // the named nodes' normalized addresses: --participant, then --endpoints, then --coord
	txid   string
	commit bool
	yes    bool
	force  bool // override the refusals that --force may override
	only   bool // resolve only the named participants
}

// resolver is what resolve needs of a connection: *transport.Client has it.
type resolver interface {
	Resolve(ctx context.Context, txid string, commit, force bool) (*wire.ResolveResult, error)
}

func resolveCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:        "resolve",
		Usage:       "apply a heuristic outcome to a transaction a participant holds in doubt (operators only)",
		ArgsUsage:   resolveArgsUsage,
		Description: resolveDescription,
		Flags: append(commandFlags(),
			&cli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation (required when stdin is not a terminal)"},
			&cli.BoolFlag{Name: "force", Usage: "resolve even though the coordinator or a member could still decide or knows the outcome (recorded on each participant)"},
			&cli.BoolFlag{Name: "only", Usage: "resolve only the participants named, not every member in doubt"}),
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
			rc.yes, rc.force, rc.only = c.Bool("yes"), c.Bool("force"), c.Bool("only")
			return runResolve(c.Context, rc, s)
		},
	}
}

// parseResolve validates resolve's flags and arguments.
func parseResolve(cfg config, args []string) (resolveConfig, error) {
	rc := resolveConfig{config: cfg}
	if cfg.participant == "" && cfg.endpoints == "" {
		return rc, failf("resolve needs --participant ADDR or --endpoints A,B (or TXCLI_PARTICIPANT, TXCLI_ENDPOINTS): a participant that holds the transaction in doubt")
	}
	if cfg.participant != "" {
		addr, err := wire.NormalizeAddr(cfg.participant)
		if err != nil {
			return rc, failf("--participant: %v", err)
		}
		rc.addrs = append(rc.addrs, addr)
	}
	eps, err := cfg.endpointList()
	if err != nil {
		return rc, err
	}
	rc.addrs = append(rc.addrs, eps...)
	if cfg.coord != "" {
		addr, err := wire.NormalizeAddr(cfg.coord)
		if err != nil {
			return rc, failf("--coord: %v", err)
		}
		rc.addrs = append(rc.addrs, addr)
	}
	rc.addrs = slices.Compact(rc.addrs)
	usage := " (usage: txcli --participant ADDR resolve [--yes] [--force] [--only] " + resolveArgsUsage + ")"
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

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
