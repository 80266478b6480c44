// Command txd runs a txd node: a coordinator, a participant, or a local
// demonstration cluster.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli.App{
		Name:      "txd",
		Usage:     "atomic commit across machines: 2PC coordinator and participant daemons",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*cli.Command{
			coordinatorCommand(),
			participantCommand(),
			demoCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run reports errors itself
	}
	if err := app.RunContext(ctx, args); err != nil {
		fmt.Fprintf(stderr, "txd: %v\n", err)
		if code, ok := err.(cli.ExitCoder); ok && code.ExitCode() != 0 {
			return code.ExitCode()
		}
		return 1
	}
	return 0
}
