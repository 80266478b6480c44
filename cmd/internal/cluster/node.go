package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Role is what a node runs as: the txd subcommand.
type Role string

const (
	Participant Role = "participant"
	Coordinator Role = "coordinator"
)

// StartTimeout bounds how long a starting node may take to answer status.
const StartTimeout = 10 * time.Second

// StopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const StopTimeout = 5 * time.Second

// flag is one "--name value" of a node's command line.
type flag struct{ name, value string }

// Node is one txd process: its identity, port, log file and flags, which
// outlive the process so that it can be restarted on the same WAL and port.
type Node struct {
	Role Role
	ID   string
	Port int
	WAL  string // write-ahead log path
	Log  string // stdout and stderr of every run, appended

	bins *Binaries

	mu      sync.Mutex // protects following
	flags   []flag     // extra flags, in order
	wrapper []string   // a command that runs txd (e.g. prlimit ... --); nil: none
	proc    *proc      // the current or last process; nil before the first start
	runs    int
	exited  []string // processes that died without the harness killing them
	// Crash points (crashpoint.go): the TXD_CRASHPOINT of the next start,
	// and the processes that died of theirs, which are not crashes.
	crashPoint string
	crashed    []string
}

// proc is one run of a node.
type proc struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when it has exited and been reaped
	state  *os.ProcessState
	killed bool // the harness signalled it
	// crashPoint is the TXD_CRASHPOINT it runs with: dying of SIGKILL is
	// then what it was asked to do.
	crashPoint string
}

// NewNode describes a node; nothing runs until Start. dir holds its WAL and
// log. port 0 picks a free one.
func NewNode(bins *Binaries, role Role, id string, port int, dir string) (*Node, error) {
	if port == 0 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		port = p
	}
	return &Node{
		Role: role, ID: id, Port: port, bins: bins,
		WAL: dir + "/" + id + ".wal",
		Log: dir + "/" + id + ".log",
	}, nil
}

// Addr is where the node listens: "127.0.0.1:PORT".
func (n *Node) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.Port) }

// SetFlag sets "--name value" on the node's command line from its next
// start on (replacing an earlier value).
func (n *Node) SetFlag(name, value string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range n.flags {
		if n.flags[i].name == name {
			n.flags[i].value = value
			return
		}
	}
	n.flags = append(n.flags, flag{name, value})
}

// SetWrapper runs the node, from its next start on, as the command wrapper
// followed by txd and its arguments: e.g. "/usr/bin/prlimit",
// "--nofile=256:256", "--" to start it under a descriptor limit. The
// wrapper must exec txd (keep its pid). No arguments: none.
func (n *Node) SetWrapper(wrapper ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.wrapper = wrapper
}

// DelFlag removes "--name" from the node's command line from its next start
// on.
func (n *Node) DelFlag(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range n.flags {
		if n.flags[i].name == name {
			n.flags = append(n.flags[:i], n.flags[i+1:]...)
			return
		}
	}
}

// Args is the node's command line (without the program name).
func (n *Node) Args() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	args := []string{string(n.Role), "--id", n.ID, "--port", strconv.Itoa(n.Port),
		"--host", "127.0.0.1", "--wal", n.WAL}
	for _, f := range n.flags {
		args = append(args, "--"+f.name, f.value)
	}
	return args
}

// Pid is the current process's id, 0 if the node never started.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return 0
	}
	return n.proc.cmd.Process.Pid
}

// Running reports whether the node's process is alive.
func (n *Node) Running() bool {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Launch starts the node's process without waiting for it to serve. It is
// an error if it is running.
func (n *Node) Launch() error {
	n.mu.Lock()
	if n.proc != nil {
		select {
		case <-n.proc.done:
		default:
			n.mu.Unlock()
			return fmt.Errorf("%s %s is already running as pid %d", n.Role, n.ID, n.proc.cmd.Process.Pid)
		}
	}
	n.mu.Unlock()
	args := n.Args()

	logf, err := os.OpenFile(n.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	n.mu.Lock()
	crashPoint := n.crashPoint
	argv := append(append(append([]string(nil), n.wrapper...), n.bins.TXD), args...)
	n.mu.Unlock()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = cleanEnv()
	if crashPoint != "" {
		cmd.Env = append(cmd.Env, crashPointEnv+"="+crashPoint)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// No Pdeathsig: it fires when the forking OS thread exits, which the Go
	// runtime may do at any time, and would kill healthy nodes mid-test.

	n.mu.Lock()
	defer n.mu.Unlock()
	n.runs++
	fmt.Fprintf(logf, "=== harness: run %d at %s: txd %s\n", n.runs, time.Now().Format("15:04:05.000"), strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s %s: %w", n.Role, n.ID, err)
	}
	fmt.Fprintf(logf, "=== harness: pid %d\n", cmd.Process.Pid)
	p := &proc{cmd: cmd, done: make(chan struct{}), crashPoint: crashPoint}
	n.proc = p
	go func() {
		cmd.Wait() //nolint:errcheck // the state is what matters
		n.mu.Lock()
		p.state = cmd.ProcessState
		what := fmt.Sprintf("pid %d (run %d): %v", cmd.Process.Pid, n.runs, cmd.ProcessState)
		switch {
		case p.killed:
		case p.crashPoint != "" && diedOfSIGKILL(cmd.ProcessState):
			n.crashed = append(n.crashed, what+" at crash point "+p.crashPoint)
		default:
			n.exited = append(n.exited, what)
		}
		n.mu.Unlock()
		close(p.done)
	}()
	return nil
}

// Start launches the node and waits until it answers a status request. A
// node that exits instead is an error carrying its log; on its very first
// start a node that could not bind its port is retried on another one.
func (n *Node) Start() error {
	for attempt := 0; ; attempt++ {
		first := n.runsSoFar() == 0
		if err := n.Launch(); err != nil {
			return err
		}
		err := n.WaitServing(StartTimeout)
		if err == nil {
			return nil
		}
		if first && attempt < 3 && !n.Running() && strings.Contains(n.LogText(), "address already in use") {
			port, perr := FreePort()
			if perr != nil {
				return perr
			}
			n.mu.Lock()
			n.Port, n.runs = port, 0
			n.exited = nil
			n.mu.Unlock()
			continue
		}
		return err
	}
}

func (n *Node) runsSoFar() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.runs
}

// WaitServing polls until the node answers status over txcli, or fails if
// it exits or timeout passes.
func (n *Node) WaitServing(timeout time.Duration) error {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return fmt.Errorf("%s %s was never started", n.Role, n.ID)
	}
	err := Poll(context.Background(), timeout, func() error {
		select {
		case <-p.done:
			return errExited
		default:
		}
		var err error
		if n.Role == Coordinator {
			_, err = n.bins.CoordStatus(context.Background(), n.Addr())
		} else {
			_, err = n.bins.ParticipantStatus(context.Background(), n.Addr())
		}
		return err
	})
	if err == nil {
		return nil
	}
	select {
	case <-p.done:
		<-p.done
		return fmt.Errorf("%s %s (pid %d) exited while starting: %v\n%s", n.Role, n.ID, p.cmd.Process.Pid, p.state, n.LogText())
	default:
	}
	return fmt.Errorf("%s %s (pid %d) does not serve: %v", n.Role, n.ID, p.cmd.Process.Pid, err)
}

var errExited = errors.New("the process exited")

// Kill sends SIGKILL (kill -9) to the node's process and waits until it is
// gone. Killing a node that is not running is a no-op.
func (n *Node) Kill() error { return n.signal(syscall.SIGKILL, 0) }

// Stop sends SIGTERM and waits for the process to exit; after StopTimeout
// it kills it with SIGKILL and reports that as an error.
func (n *Node) Stop() error { return n.signal(syscall.SIGTERM, StopTimeout) }

func (n *Node) signal(sig syscall.Signal, grace time.Duration) error {
	n.mu.Lock()
	p := n.proc
	if p == nil {
		n.mu.Unlock()
		return nil
	}
	select {
	case <-p.done:
		n.mu.Unlock()
		return nil
	default:
	}
	p.killed = true
	pid := p.cmd.Process.Pid
	n.mu.Unlock()

	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill -%d %d (%s %s): %w", sig, pid, n.Role, n.ID, err)
	}
	if sig == syscall.SIGKILL {
		<-p.done
		return nil
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		if !p.state.Success() {
			return fmt.Errorf("%s %s (pid %d) exited with %v after SIGTERM", n.Role, n.ID, pid, p.state)
		}
		return nil
	case <-t.C:
		syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // reaped below either way
		<-p.done
		return fmt.Errorf("%s %s (pid %d) ignored SIGTERM for %v; killed", n.Role, n.ID, pid, grace)
	}
}

// Restart starts the node again (same id, port, WAL and log; current
// flags) after it was killed or stopped.
func (n *Node) Restart() error {
	if n.Running() {
		return fmt.Errorf("%s %s is still running", n.Role, n.ID)
	}
	return n.Start()
}

// Unexpected lists the node's processes that exited without the harness
// signalling them: crashes.
func (n *Node) Unexpected() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.exited...)
}

// LogText is everything the node's processes wrote so far.
func (n *Node) LogText() string {
	b, err := os.ReadFile(n.Log)
	if err != nil {
		return fmt.Sprintf("(log %s: %v)", n.Log, err)
	}
	return string(b)
}

// LogLines returns the lines of the node's log that contain every one of
// subs.
func (n *Node) LogLines(subs ...string) []string {
	var out []string
	for line := range strings.Lines(n.LogText()) {
		ok := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return out
}
