package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// The systemd units in deploy/ must start the daemon they name with flags
// it has: a renamed flag would otherwise surface only on a production host.

const deployDir = "../../deploy/systemd"

// unit is a parsed systemd unit file: section → key → values in order (a
// key may repeat).
type unit map[string]map[string][]string

func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// parseUnit reads the INI dialect of systemd units: [Section] headers,
// Key=Value lines, # and ; comments, a trailing backslash continuing a line.
// Anything else is an error.
func parseUnit(path string) (unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, `\`) {
			if !sc.Scan() {
				return nil, fmt.Errorf("%s:%d: continuation at end of file", path, n)
			}
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(sc.Text())
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s:%d: bad section header %q", path, n, line)
			}
			section = line[1 : len(line)-1]
			if u[section] != nil {
				return nil, fmt.Errorf("%s:%d: section [%s] twice", path, n, section)
			}
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("%s:%d: not Key=Value inside a section: %q", path, n, line)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u, sc.Err()
}

// parseEnv reads an EnvironmentFile: KEY=value lines and comments.
func parseEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not KEY=value: %q", path, i+1, line)
		}
		env[k] = v
	}
	return env, nil
}

// helpFlags is every --flag that `txd ROLE --help` shows.
func helpFlags(t *testing.T, role string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"txd", role, "--help"}, &out, &errb); code != 0 {
		t.Fatalf("txd %s --help: exit %d: %s", role, code, errb.String())
	}
	var flags []string
	for _, m := range regexp.MustCompile(`--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(out.String(), -1) {
		flags = append(flags, m[1])
	}
	return flags
}

// envVars is every environment variable the role's flags read.
func envVars(cmd *cli.Command) []string {
	var out []string
	for _, f := range cmd.Flags {
		if e, ok := f.(interface{ GetEnvVars() []string }); ok {
			out = append(out, e.GetEnvVars()...)
		}
	}
	return out
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func TestSystemdUnits(t *testing.T) {
	for _, tc := range []struct {
		role string
		cmd  *cli.Command
	}{{"coordinator", coordinatorCommand()}, {"participant", participantCommand()}} {
		t.Run(tc.role, func(t *testing.T) {
			path := filepath.Join(deployDir, "txd-"+tc.role+".service")
			u, err := parseUnit(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"Unit", "Service", "Install"} {
				if u[s] == nil {
					t.Errorf("no [%s] section", s)
				}
			}
			for key, want := range map[string]string{
				"User": "txd", "Restart": "on-failure", "KillSignal": "SIGTERM", "StateDirectory": "txd",
				"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/txd",
				"RestartPreventExitStatus": "2",
				// txd tells systemd when it is ready and when it stops
				// (systemd.go), from its main process.
				"Type": "notify", "NotifyAccess": "main",
			} {
				if got := u.get("Service", key); got != want {
					t.Errorf("%s=%q, want %q", key, got, want)
				}
			}
			if u.get("Service", "LimitNOFILE") == "" {
				t.Error("no LimitNOFILE")
			}
			// Long enough for the coordinator's drain (5 s) and the
			// metrics server's (2 s), with room to spare.
			if d, err := time.ParseDuration(u.get("Service", "TimeoutStopSec")); err != nil || d < 15*time.Second {
				t.Errorf("TimeoutStopSec=%q: want a duration of at least 15s (%v)", u.get("Service", "TimeoutStopSec"), err)
			}

			exec := strings.Fields(u.get("Service", "ExecStart"))
			if len(exec) < 2 || !filepath.IsAbs(exec[0]) || filepath.Base(exec[0]) != "txd" || exec[1] != tc.role {
				t.Fatalf("ExecStart %q does not run txd %s", exec, tc.role)
			}
			known := helpFlags(t, tc.role)
			args := map[string]string{}
			for i := 2; i < len(exec); i++ {
				name, ok := strings.CutPrefix(exec[i], "--")
				if !ok {
					t.Errorf("ExecStart: %q is not a --flag", exec[i])
					continue
				}
				if !slices.Contains(known, name) {
					t.Errorf("ExecStart: txd %s --help has no --%s", tc.role, name)
				}
				if i+1 < len(exec) && !strings.HasPrefix(exec[i+1], "--") {
					args[name] = exec[i+1]
					i++
				}
			}
			for _, need := range []string{"id", "port", "wal", "tls-cert", "tls-key", "tls-ca", "metrics"} {
				if _, ok := args[need]; !ok {
					t.Errorf("ExecStart lacks --%s", need)
				}
			}
			if !strings.HasPrefix(args["wal"], "/var/lib/txd/") {
				t.Errorf("--wal %s is not under the StateDirectory /var/lib/txd", args["wal"])
			}

			// Every ${VAR} comes from the EnvironmentFile (its example here),
			// and every TXD_* the example sets is one txd reads.
			envFile := u.get("Service", "EnvironmentFile")
			env, err := parseEnv(filepath.Join(deployDir, filepath.Base(envFile)+".example"))
			if err != nil {
				t.Fatalf("EnvironmentFile=%s: its example: %v", envFile, err)
			}
			for _, m := range envRef.FindAllStringSubmatch(u.get("Service", "ExecStart"), -1) {
				if _, ok := env[m[1]]; !ok {
					t.Errorf("ExecStart uses ${%s}, which %s.example does not set", m[1], filepath.Base(envFile))
				}
			}
			vars := envVars(tc.cmd)
			for k := range env {
				if !slices.Contains(vars, k) {
					t.Errorf("%s.example sets %s, which txd %s does not read", filepath.Base(envFile), k, tc.role)
				}
			}
		})
	}
}

// systemd-analyze verify, where it exists, checks the units as systemd
// reads them (unknown keys, bad values). The binary path is swapped for one
// that exists, since verify insists on it.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"txd-coordinator.service", "txd-participant.service"} {
		b, err := os.ReadFile(filepath.Join(deployDir, name))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("/usr/local/bin/txd"), []byte(self))
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, sa, "verify", p).CombinedOutput()
		cancel()
		// verify exits 0 on warnings (an unknown key is ignored), so any
		// output at all is a failure.
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
	}
}
