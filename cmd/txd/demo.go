package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/cmd/internal/partition"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "start a local cluster (coordinator + participants B and C, separate processes) and walk through scenarios 1-5: the seed's four (2PC, its blocking, recovery, 3PC) and PARALLEL (members finish without the coordinator; one network partition given to 3PC and to PARALLEL)",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "delay", Value: 2 * time.Second, Usage: "the coordinator's execution delay in scenarios 2, 4 and 5 (the window in which it is killed or the network cut)"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the temporary directory with the WALs and node logs"},
		},
		Action: func(c *cli.Context) error {
			d, err := newDemo(c.App.Writer, c.Duration("delay"))
			if err != nil {
				return err
			}
			defer d.cleanup(c.Bool("keep"))
			if err := d.run(c.Context); err != nil {
				if errors.Is(err, context.Canceled) {
					fmt.Fprintln(d.out, "\ninterrupted: stopping the cluster")
					return nil
				}
				return fmt.Errorf("demo: %w (node logs in %s)", err, d.dir)
			}
			return nil
		},
	}
}

// demo runs a three-process cluster of this very binary on loopback. The
// nodes reach one another only through partition proxies (one before each
// node), which scenario 5 cuts; the demo itself talks to each node
// directly.
type demo struct {
	out   io.Writer
	exe   string
	dir   string
	delay time.Duration
	ports map[string]int // node id → port
	procs map[string]*proc
	net   *partition.Net
}

// proc is one running node.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func newDemo(out io.Writer, delay time.Duration) (*demo, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "txd-demo-")
	if err != nil {
		return nil, err
	}
	d := &demo{out: out, exe: exe, dir: dir, delay: delay, ports: map[string]int{}, procs: map[string]*proc{}, net: partition.New()}
	for _, id := range []string{"COORD", "B", "C"} {
		if d.ports[id], err = freePort(); err == nil {
			_, err = d.net.Add(id, d.addr(id))
		}
		if err != nil {
			d.net.Close()
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return d, nil
}

func (d *demo) addr(id string) string { return fmt.Sprintf("127.0.0.1:%d", d.ports[id]) }

// via is where the other nodes reach node id: its partition proxy.
func (d *demo) via(id string) string { return d.net.Proxy(id).Addr() }

func (d *demo) run(ctx context.Context) error {
	d.say("txd demo: a coordinator and participants B and C, each its own process on 127.0.0.1,")
	d.say("with their write-ahead logs in %s.\n", d.dir)
	for _, id := range []string{"B", "C"} {
		if err := d.start(id, "participant", "--timeout", "1s", "--coordinator", "COORD"); err != nil {
			return err
		}
	}
	if err := d.startCoordinator(0); err != nil {
		return err
	}
	if err := d.waitConnected(ctx); err != nil {
		return err
	}

	d.heading("Scenario 1: standard 2PC commit (PREPARE -> votes -> COMMIT)")
	if err := d.transaction(ctx, "TX1", "SET", "balance", "1000"); err != nil {
		return err
	}
	if err := d.waitStates(ctx, "TX1", wire.StateCommitted); err != nil {
		return err
	}
	d.showParticipants(ctx, "TX1")

	d.heading(fmt.Sprintf("Scenario 2: 2PC blocks when the coordinator dies (restarting it with --delay %v)", d.delay))
	if err := d.stop("COORD"); err != nil {
		return err
	}
	if err := d.startCoordinator(d.delay); err != nil {
		return err
	}
	if err := d.waitConnected(ctx); err != nil {
		return err
	}
	if err := d.transaction(ctx, "TX2", "ADD", "balance", "500"); err != nil {
		return err
	}
	d.say("The decision (COMMIT) is durable in the coordinator's log; it now waits %v before sending it.", d.delay)
	d.say("$ kill -9 %d   # the coordinator, during its execution delay", d.procs["COORD"].pid())
	d.kill("COORD")
	if err := d.waitStates(ctx, "TX2", wire.StateReady); err != nil {
		return err
	}
	d.showParticipants(ctx, "TX2")
	d.say("Both voted YES and must not decide alone: they hold balance locked and ask for the")
	d.say("outcome every second. Waiting 3 s to show they stay READY (2PC's blocking)...")
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	d.showParticipants(ctx, "TX2")

	d.heading("Scenario 3: recovery from the WAL (restart the coordinator)")
	if err := d.startCoordinator(0); err != nil {
		return err
	}
	d.say("The coordinator replays its log, finds TX2's COMMIT without an END, and sends it again.")
	if err := d.waitStates(ctx, "TX2", wire.StateCommitted); err != nil {
		return err
	}
	d.showParticipants(ctx, "TX2")
	d.say("\nAfter the restart balance is 1500 on both: TX2 applied exactly once, on both or neither.")
	if err := d.threePC(ctx); err != nil {
		return err
	}
	if err := d.parallel(ctx); err != nil {
		return err
	}
	d.say("\nDone; stopping the cluster.")
	return nil
}

func (d *demo) startCoordinator(delay time.Duration) error {
	return d.start("COORD", "coordinator", "--participants", "B="+d.via("B")+",C="+d.via("C"),
		"--advertise", d.via("COORD"), "--timeout", "2s", "--delay", delay.String())
}

// start runs one node as a child process, its log in the demo directory.
func (d *demo) start(id, role string, extra ...string) error {
	logf, err := os.OpenFile(filepath.Join(d.dir, id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := append([]string{role, "--id", id, "--host", "127.0.0.1", "--port", fmt.Sprint(d.ports[id]),
		"--wal", filepath.Join(d.dir, id+".wal")}, extra...)
	cmd := exec.Command(d.exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Children die with the demo, even if it is killed itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if old := d.procs[id]; old != nil {
		return fmt.Errorf("start %s: already running as pid %d", id, old.pid())
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	d.procs[id] = p
	d.say("started %-11s %-5s pid %-7d on %s", role, id, cmd.Process.Pid, d.addr(id))
	// A node that cannot start (port taken, bad log) exits at once.
	if err := poll(context.Background(), 5*time.Second, func() (bool, error) {
		select {
		case <-p.exited:
			delete(d.procs, id)
			return false, fmt.Errorf("%s exited at start: see %s", id, filepath.Join(d.dir, id+".log"))
		default:
		}
		c, err := net.DialTimeout("tcp", d.addr(id), time.Second)
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	}); err != nil {
		return err
	}
	return nil
}

// kill sends SIGKILL: no shutdown code runs, like a power cut.
func (d *demo) kill(id string) {
	if p := d.procs[id]; p != nil {
		_ = p.cmd.Process.Kill()
		<-p.exited
		delete(d.procs, id)
	}
}

// stop asks a node to shut down cleanly.
func (d *demo) stop(id string) error {
	p := d.procs[id]
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	delete(d.procs, id)
	d.say("stopped %s (SIGTERM, clean shutdown)", id)
	return nil
}

func (d *demo) cleanup(keep bool) {
	for id := range d.procs {
		d.kill(id)
	}
	d.net.Close()
	if keep {
		d.say("kept %s", d.dir)
		return
	}
	os.RemoveAll(d.dir)
}

// transaction runs one transaction the way txcli does and prints it.
func (d *demo) transaction(ctx context.Context, txid string, words ...string) error {
	return d.transactionProto(ctx, wire.TwoPC, txid, words...)
}

func (d *demo) transactionProto(ctx context.Context, proto wire.Protocol, txid string, words ...string) error {
	ops, err := wire.ParseOps(words)
	if err != nil {
		return err
	}
	d.say("$ txcli --coord %s start %s %s %s", d.addr("COORD"), txid, proto, strings.Join(words, " "))
	cl, err := transport.DialClient(ctx, d.addr("COORD"))
	if err != nil {
		return err
	}
	defer cl.Close()
	start := time.Now()
	res, err := cl.Start(ctx, txid, proto, ops)
	if err != nil {
		return err
	}
	d.say("%s (%s): %s in %v", res.TxID, proto, res.Outcome, time.Since(start).Round(10*time.Microsecond))
	return nil
}

// waitConnected polls the coordinator until both participants are connected.
func (d *demo) waitConnected(ctx context.Context) error {
	return poll(ctx, 10*time.Second, func() (bool, error) {
		st, err := status(ctx, d.addr("COORD"))
		if err != nil {
			return false, nil
		}
		up := 0
		for _, p := range st.Participants {
			if p.Connected {
				up++
			}
		}
		return up == 2, nil
	})
}

// waitStates polls both participants until txid is in state want on each.
func (d *demo) waitStates(ctx context.Context, txid string, want wire.State) error {
	return d.waitTx(ctx, 15*time.Second, txid, want, "B", "C")
}

// waitTx polls the participants ids until txid is in state want on each,
// for at most limit (0: one look).
func (d *demo) waitTx(ctx context.Context, limit time.Duration, txid string, want wire.State, ids ...string) error {
	var last string
	err := poll(ctx, limit, func() (bool, error) {
		for _, id := range ids {
			st, err := status(ctx, d.addr(id))
			if err != nil {
				last = fmt.Sprintf("%s: %v", id, err)
				return false, nil
			}
			if got := txState(st, txid); got != want {
				last = fmt.Sprintf("%s: %s is %s", id, txid, got)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("want %s on %v: %v (%s)", want, ids, err, last)
	}
	return nil
}

func (d *demo) showParticipants(ctx context.Context, txid string) {
	d.eachParticipant(ctx, func(st *wire.Status) string {
		return fmt.Sprintf("%-13s  %s %s", storeLine(st), txid, explain(txState(st, txid)))
	})
}

// eachParticipant prints a status line for B and C: line(its status), or
// why it could not be had.
func (d *demo) eachParticipant(ctx context.Context, line func(*wire.Status) string) {
	d.say("$ txcli --participant ... status")
	for _, id := range []string{"B", "C"} {
		st, err := status(ctx, d.addr(id))
		if err != nil {
			d.say("  %s  unreachable: %v", id, err)
			continue
		}
		d.say("  %s  %s", id, line(st))
	}
}

// storeLine is a participant's store as "k1=v1 k2=v2", keys sorted.
func storeLine(st *wire.Status) string {
	keys := make([]string, 0, len(st.Store))
	for k := range st.Store {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+st.Store[k])
	}
	return strings.Join(kv, " ")
}

func explain(s wire.State) string {
	switch s {
	case wire.StateReady:
		return "READY (voted yes, outcome unknown)"
	case wire.StatePrecommitted:
		return "PRECOMMITTED (3PC: everyone voted yes)"
	case wire.StateCommitted:
		return "COMMITTED"
	case wire.StateAborted:
		return "ABORTED"
	}
	return string(s)
}

func txState(st *wire.Status, txid string) wire.State {
	for _, t := range st.Transactions {
		if t.TxID == txid {
			return t.State
		}
	}
	return wire.StateUnknown
}

func status(ctx context.Context, addr string) (*wire.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cl, err := transport.DialClient(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.Status(ctx)
}

func (d *demo) heading(s string) { d.say("\n== %s", s) }

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

// poll calls cond every 20 ms until it reports done, fails, or the deadline passes.
func poll(ctx context.Context, limit time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		done, err := cond()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %v", limit)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
