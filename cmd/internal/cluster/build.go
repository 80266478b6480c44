// Package cluster runs real txd and txcli processes for integration tests:
// it builds the binaries once per test binary, picks free loopback ports,
// starts, stops, kill -9s and restarts nodes by pid, runs txcli and parses
// its --json output, and polls for conditions with a deadline.
//
// A test typically does:
//
//	c := cluster.Start(t, cluster.Shared(t), cluster.Config{})
//	out, r := c.StartTx("TX1", "2PC", "SET", "balance", "1000")
//	cluster.Eventually(t, 10*time.Second, "B applies TX1", func() error { ... })
//
// Every process a Cluster starts is stopped (by pid) in t.Cleanup, also when
// the test fails; each node's stderr goes to a file in the test's temporary
// directory and is printed with t.Logf when the test failed.
package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Binaries are the built txd and txcli executables.
type Binaries struct {
	Dir   string // the directory holding them
	TXD   string // path of txd
	TXCLI string // path of txcli
}

// Packages built by Build.
const (
	txdPkg   = "github.com/txd/txd/cmd/txd"
	txcliPkg = "github.com/txd/txd/cmd/txcli"
)

// RaceEnv, when set to 1 in the environment, builds the daemons with -race.
const RaceEnv = "TXD_IT_RACE"

// Build compiles txd and txcli into dir, with the crash points
// (-tags crashpoints: see Node.SetCrashPoint; production builds have
// none). It runs the go command in the current directory, which must be
// inside the module (a test's package directory is).
func Build(ctx context.Context, dir string) (*Binaries, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		// `go test` puts its own go command first in PATH; this is a test
		// binary started some other way.
		root := os.Getenv("GOROOT")
		if root == "" {
			return nil, fmt.Errorf("cluster: no go command in PATH and GOROOT unset: %w", err)
		}
		goBin = filepath.Join(root, "bin", "go")
	}
	args := []string{"build", "-tags", "crashpoints", "-o", dir + string(filepath.Separator)}
	if os.Getenv(RaceEnv) == "1" {
		args = append(args, "-race")
	}
	args = append(args, txdPkg, txcliPkg)
	cmd := exec.CommandContext(ctx, goBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %v: %v\n%s", args, err, out.String())
	}
	b := &Binaries{Dir: dir, TXD: filepath.Join(dir, "txd"), TXCLI: filepath.Join(dir, "txcli")}
	for _, p := range []string{b.TXD, b.TXCLI} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("go build did not produce %s: %v", p, err)
		}
	}
	return b, nil
}

var shared struct {
	once sync.Once
	dir  string
	bins *Binaries
	err  error
}

// Shared builds the binaries the first time it is called in this process,
// into a temporary directory that RemoveShared deletes, and returns them;
// later calls return the same build. A failed build fails t.
func Shared(t testing.TB) *Binaries {
	t.Helper()
	shared.once.Do(func() {
		start := time.Now()
		shared.dir, shared.err = os.MkdirTemp("", "txd-it-bin-")
		if shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared.bins, shared.err = Build(ctx, shared.dir)
		if shared.err == nil {
			t.Logf("built txd and txcli in %v", time.Since(start).Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatalf("building the binaries: %v", shared.err)
	}
	return shared.bins
}

// RemoveShared deletes the directory of Shared's build, if any. Call it
// from TestMain after m.Run.
func RemoveShared() {
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}
