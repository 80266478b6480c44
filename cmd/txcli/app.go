package main

import (
	"github.com/urfave/cli/v2"

	"github.com/txd/txd/internal/version"
)

const appDescription = `txcli talks to txd daemons: "start" asks the coordinator to run a
transaction with two-phase (2PC) or three-phase (3PC) commit and prints its
outcome; "status" shows a participant (--participant) or the whole cluster
(--coord): the coordinator, then every participant it knows, best effort;
"watch" is a live view of the cluster (--coord). With --endpoints A,B,C
(nodes of any role) status and watch show each node's own view, also while
the coordinator is down.
"resolve" lets an operator decide a transaction its participants hold in
doubt when its coordinator is gone for good (a heuristic decision: it asks
every member first and refuses what would make things worse; read its help).
"trace TXID" draws one transaction's messages and log records on every node.
"get KEY..." and "scan [--prefix P] [--limit N]" read a participant's committed
keys (--participant): status only sums a large store up.

Flags go before the positional arguments: after the command name is fine,
after the transaction id is not (everything from the id on is the transaction):

   txcli --json --coord ADDR start TX1 2PC SET balance 1000
   txcli start --json --coord ADDR TX1 2PC SET balance 1000

Every flag can also be set in the environment: TXCLI_COORD, TXCLI_PARTICIPANT,
TXCLI_ENDPOINTS, TXCLI_JSON (true/false), TXCLI_TIMEOUT (e.g. 10s).

Exit codes: 0 success (start: COMMITTED), 1 start: ABORTED (get: a key
missing), 2 any error (bad arguments, node unreachable, request refused,
outcome unknown).`

// newApp builds the command line: global flags, the start and status
// commands, and errors routed to report instead of os.Exit.
func newApp(s streams, dial dialFunc) *cli.App {
	return &cli.App{
		Name:            "txcli",
		Usage:           "run and inspect atomic-commit transactions on a txd cluster",
		UsageText:       "txcli [--coord ADDR | --participant ADDR | --endpoints A,B,C] [--json] [--timeout D] COMMAND [ARGS...]",
		Description:     appDescription,
		Flags:           globalFlags(),
		Commands:        []*cli.Command{startCommand(s, dial), statusCommand(s, dial), benchCommand(s, dial), watchCommand(s, dial), traceCommand(s, dial), resolveCommand(s, dial), getCommand(s, dial), scanCommand(s, dial)},
		Writer:          s.out,
		ErrWriter:       s.err,
		Version:         version.Long(),
		HideHelpCommand: true,
		OnUsageError:    onUsageError,
		ExitErrHandler:  func(*cli.Context, error) {}, // run reports; never os.Exit here
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return failf("unknown command %q (want start, status, get, scan, bench, watch, trace or resolve; see txcli --help)", c.Args().First())
			}
			return failf("no command given (want start, status, get, scan, bench, watch, trace or resolve; see txcli --help)")
		},
	}
}

// onUsageError turns urfave's flag errors (unknown flag, bad value, bad
// environment variable) into one line and exit code 2.
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	help := "txcli --help"
	if isSubcommand && c.Command != nil {
		help = "txcli " + c.Command.Name + " --help"
	}
	return failf("%v (see %s)", err, help)
}
