package main

import (
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	clearEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command given"},
		{"unknown command", []string{"--coord", "h:1", "launch"}, `unknown command "launch"`},
		{"unknown flag", []string{"--bogus", "status"}, "flag provided but not defined: -bogus"},
		{"unknown command flag", []string{"--coord", "h:1", "start", "--bogus", "TX1"}, "txcli start --help"},
		{"start without coord", []string{"start", "TX1", "2PC", "SET", "k", "v"}, "start needs --coord ADDR"},
		{"start with participant", []string{"--participant", "h:1", "start", "TX1", "2PC", "SET", "k", "v"}, "--participant is for status"},
		{"missing txid", []string{"--coord", "h:1", "start"}, "missing transaction id"},
		{"missing protocol", []string{"--coord", "h:1", "start", "TX1"}, "missing protocol"},
		{"missing ops", []string{"--coord", "h:1", "start", "TX1", "2PC"}, "missing operations"},
		{"bad txid", []string{"--coord", "h:1", "start", "TX/1", "2PC", "SET", "k", "v"}, `transaction id "TX/1"`},
		{"unknown protocol", []string{"--coord", "h:1", "start", "TX1", "4PC", "SET", "k", "v"}, `unknown protocol "4PC"`},
		{"unknown operation", []string{"--coord", "h:1", "start", "TX1", "2PC", "MUL", "k", "2"}, `unknown operation "MUL"`},
		{"bad number", []string{"--coord", "h:1", "start", "TX1", "2PC", "B:ADD", "balance", "ten"}, `delta "ten" is not a 64-bit integer`},
		{"short op", []string{"--coord", "h:1", "start", "TX1", "2PC", "SET", "k"}, "SET needs 2 argument(s)"},
		{"bad target", []string{"--coord", "h:1", "start", "TX1", "2PC", "B/C:SET", "k", "v"}, "participant id"},
		{"flag after txid", []string{"--coord", "h:1", "start", "TX1", "2PC", "SET", "k", "v", "--json"}, "flags such as --json go before the transaction id"},
		{"bad coord", []string{"--coord", "nohost", "start", "TX1", "2PC", "SET", "k", "v"}, "--coord: address"},
		{"zero timeout", []string{"--coord", "h:1", "--timeout", "0s", "status"}, "--timeout must be positive"},
		{"bad timeout", []string{"--coord", "h:1", "--timeout", "soon", "status"}, "invalid value"},
		{"status without address", []string{"status"}, "status needs --coord ADDR"},
		{"status with args", []string{"--coord", "h:1", "status", "B"}, "status takes no arguments"},
		{"bad participant", []string{"--participant", "h:0", "status"}, "--participant: address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := txcli(t, noDial(t), tt.args...)
			if r.code != exitError {
				t.Errorf("exit code %d, want %d", r.code, exitError)
			}
			oneErrLine(t, r, tt.want)
			if strings.Contains(r.errOut, "panic") {
				t.Errorf("stderr: %s", r.errOut)
			}
		})
	}
}

func TestBadEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("TXCLI_TIMEOUT", "forever")
	r := txcli(t, noDial(t), "--coord", "h:1", "status")
	if r.code != exitError {
		t.Errorf("exit code %d, want 2", r.code)
	}
	oneErrLine(t, r, "TXCLI_TIMEOUT")
}

func TestHelp(t *testing.T) {
	clearEnv(t)
	for _, args := range [][]string{{"--help"}, {"start", "--help"}, {"status", "--help"}} {
		r := txcli(t, noDial(t), args...)
		if r.code != exitOK {
			t.Errorf("%v: exit code %d, want 0; stderr %s", args, r.code, r.errOut)
		}
		if !strings.Contains(r.out, "before") || !strings.Contains(r.out, "--json") {
			t.Errorf("%v: help does not explain where flags go:\n%s", args, r.out)
		}
	}
}
