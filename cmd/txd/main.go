// Command txd runs a txd node: a coordinator, a participant, or a local
// demonstration cluster.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/internal/crashpoint"
	"github.com/txd/txd/internal/version"
)

func main() {
	node.TuneGC()
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	if err := crashpoint.Init(); err != nil {
		fmt.Fprintf(stderr, "txd: %v\n", err)
		return 2
	}
	unknownCommand := false
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli.App{
		Name:      "txd",
		Usage:     "atomic commit across machines: 2PC coordinator and participant daemons",
		Version:   version.Long(),
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*cli.Command{
			coordinatorCommand(),
			participantCommand(),
			demoCommand(),
			certsCommand(),
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run reports errors itself
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(stderr, "txd: unknown command %q (want coordinator, participant, demo or certs)\n", name)
			unknownCommand = true
		},
	}
	err := app.RunContext(ctx, args)
	if unknownCommand {
		return 2
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "txd: %v\n", err)
	// Actions return cli.Exit with 1 for a node that failed at run time and
	// 2 for bad configuration; anything else comes from flag parsing.
	var code cli.ExitCoder
	if errors.As(err, &code) && code.ExitCode() != 0 {
		return code.ExitCode()
	}
	return 2
}
