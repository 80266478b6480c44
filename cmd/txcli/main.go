// Command txcli runs transactions on a txd cluster and shows its state.
//
//	txcli --coord ADDR start TX1 2PC SET balance 1000
//	txcli --coord ADDR start T2 2PC B:ADD balance -100 C:ADD balance 100
//	txcli --coord ADDR status
//	txcli --participant ADDR status
//	txcli --tls-cert txcli.crt --tls-key txcli.key --tls-ca ca.crt --coord ADDR status
//
// Exit codes: 0 success (for start: committed), 1 aborted, 2 any error.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs txcli with args (args[0] is the program name) and returns the
// process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx = withStdin(ctx, os.Stdin, isTTY(os.Stdin))
	return runWith(ctx, args, streams{out: stdout, err: stderr}, dialWire)
}

// runWith is run with the way to reach nodes made explicit, for tests.
func runWith(ctx context.Context, args []string, s streams, dial dialFunc) int {
	err := newApp(s, dial).RunContext(ctx, args)
	return report(err, s.err)
}

// streams is where a command writes: out gets results, err gets diagnostics.
type streams struct {
	out, err io.Writer
}
