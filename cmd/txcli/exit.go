package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes: part of txcli's contract with scripts.
const (
	exitOK      = 0 // success; for start: the transaction committed
	exitAborted = 1 // start: the transaction aborted
	exitError   = 2 // bad arguments, unreachable node, refused request (e.g. code too_old: an id retried after its outcome was forgotten), unknown outcome
)

// exitError ends a command with a code. An empty msg means the command has
// already said everything it had to say.
type exitErr struct {
	code int
	msg  string
}

func (e *exitErr) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.msg
}

// failf is an error that makes txcli exit with code 2 and print the message.
func failf(format string, args ...any) error {
	return &exitErr{code: exitError, msg: fmt.Sprintf(format, args...)}
}

// exitWith makes txcli exit with code without printing anything more.
func exitWith(code int) error { return &exitErr{code: code} }

// report prints err, if any, as one line on stderr and returns the exit code.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code, msg := exitError, err.Error()
	var e *exitErr
	if errors.As(err, &e) {
		code, msg = e.code, e.msg
	}
	if msg != "" {
		fmt.Fprintf(stderr, "txcli: %s\n", oneLine(msg))
	}
	return code
}

// oneLine folds a message that may come from the network onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }), " ")
}
