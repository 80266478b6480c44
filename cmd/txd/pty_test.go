package main

// Running txcli in a pseudo-terminal, as on a user's terminal, for the
// tests of what txcli writes to (and asks of) a terminal.

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyProc is a process whose stdin, stdout and stderr are a
// pseudo-terminal. Nothing answers the terminal queries it may write (as a
// terminal that does not support them, or a slow link): a program that
// waits for an answer shows as slow, and its queries as escape codes in
// out.
type ptyProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	tty    *os.File      // the terminal's side: what the process writes, what "the user" types
	out    syncBuffer    // everything the process wrote
	exited chan struct{} // closed when the process has exited
	copied chan struct{} // closed when all of its output is in out
}

// startPTY runs bin with args in a 40×120 pseudo-terminal (TERM
// xterm-256color, no TXD_/TXCLI_ variables). It is killed by pid at the
// end of the test if still running; its output is logged if the test
// failed.
func startPTY(t *testing.T, bin string, args ...string) *ptyProc {
	t.Helper()
	return startPTYSize(t, 40, 120, bin, args...)
}

// startPTYSize is startPTY in a rows×cols pseudo-terminal.
func startPTYSize(t *testing.T, rows, cols uint16, bin string, args ...string) *ptyProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(watchEnv(), "TERM=xterm-256color")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyProc{t: t, cmd: cmd, tty: tty, exited: make(chan struct{}), copied: make(chan struct{})}
	go func() {
		defer close(p.copied)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			p.out.Write(buf[:n])
			if err != nil {
				return // the process is gone (EIO) or the tty closed
			}
		}
	}()
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		tty.Close()
		<-p.copied
		if t.Failed() {
			t.Logf("----- terminal output of %v -----\n%q", args, p.out.String())
		}
	})
	return p
}

// wait waits up to d for the process to exit and its output to be read,
// and returns its exit code; done is false if that takes longer (the
// process still runs; the cleanup kills it).
func (p *ptyProc) wait(d time.Duration) (code int, done bool) {
	deadline := time.After(d)
	for _, ch := range []chan struct{}{p.exited, p.copied} {
		select {
		case <-ch:
		case <-deadline:
			return -1, false
		}
	}
	return p.cmd.ProcessState.ExitCode(), true
}
