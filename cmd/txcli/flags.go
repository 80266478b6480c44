package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
	"github.com/urfave/cli/v2"
)

const defaultTimeout = 30 * time.Second

// config is what the global flags (and their environment variables) say,
// common to every command.
type config struct {
	coord       string // coordinator address as the user gave it, "" if none
	participant string // participant address as the user gave it, "" if none
	endpoints   string // --endpoints as the user gave it: addresses of nodes of any role, comma-separated
	json        bool
	timeout     time.Duration // how long to wait for an answer
	dial        dialFunc
}

// globalFlags are txcli's flags before the command name. They alone read
// the environment, so a command-line flag always beats TXCLI_*.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "coord", Usage: "coordinator `ADDR` (host:port or http://host:port)", EnvVars: []string{"TXCLI_COORD"}},
		&cli.StringFlag{Name: "participant", Usage: "participant `ADDR`, for status of that one participant", EnvVars: []string{"TXCLI_PARTICIPANT"}},
		&cli.StringFlag{Name: "endpoints", Usage: "several nodes `A,B,C` of any role (status, watch, resolve): each one's own view, also while the coordinator is down", EnvVars: []string{"TXCLI_ENDPOINTS"}},
		&cli.BoolFlag{Name: "json", Usage: "print JSON on stdout instead of tables", EnvVars: []string{"TXCLI_JSON"}},
		&cli.DurationFlag{Name: "timeout", Usage: "wait at most `D` (e.g. 10s) for an answer", Value: defaultTimeout, EnvVars: []string{"TXCLI_TIMEOUT"}},
		&cli.StringFlag{Name: "tls-cert", Usage: "client certificate `FILE` (PEM, from txd certs) for a cluster running mutual TLS; with --tls-key and --tls-ca", EnvVars: []string{"TXCLI_TLS_CERT"}},
		&cli.StringFlag{Name: "tls-key", Usage: "private key `FILE` (PEM) of --tls-cert", EnvVars: []string{"TXCLI_TLS_KEY"}},
		&cli.StringFlag{Name: "tls-ca", Usage: "the cluster's CA certificate `FILE` (PEM)", EnvVars: []string{"TXCLI_TLS_CA"}},
	}
}

// commandFlags repeat the global flags after the command name
// ("txcli start --json TX1 ..."); when given there they win.
func commandFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "coord", Usage: "coordinator `ADDR` (also a global flag; TXCLI_COORD)"},
		&cli.StringFlag{Name: "participant", Usage: "participant `ADDR` (also a global flag; TXCLI_PARTICIPANT)"},
		&cli.StringFlag{Name: "endpoints", Usage: "nodes `A,B,C` of any role (also a global flag; TXCLI_ENDPOINTS)"},
		&cli.BoolFlag{Name: "json", Usage: "print JSON on stdout (also a global flag; TXCLI_JSON)"},
		&cli.DurationFlag{Name: "timeout", Usage: "wait at most `D` for an answer (also a global flag; TXCLI_TIMEOUT)", DefaultText: defaultTimeout.String()},
		&cli.StringFlag{Name: "tls-cert", Usage: "client certificate `FILE` (also a global flag; TXCLI_TLS_CERT)"},
		&cli.StringFlag{Name: "tls-key", Usage: "private key `FILE` of --tls-cert (also a global flag; TXCLI_TLS_KEY)"},
		&cli.StringFlag{Name: "tls-ca", Usage: "CA certificate `FILE` (also a global flag; TXCLI_TLS_CA)"},
	}
}

// loadConfig reads the flags of a command's context: the command's own
// when set on its command line, else the global ones (command line,
// environment, default).
func loadConfig(c *cli.Context, dial dialFunc) (config, error) {
	root := c // the app's context: the outermost with a command
	for _, l := range c.Lineage() {
		if l.Command != nil {
			root = l
		}
	}
	pick := func(name string) *cli.Context {
		if c != root && c.IsSet(name) {
			return c
		}
		return root
	}
	cfg := config{
		coord:       pick("coord").String("coord"),
		participant: pick("participant").String("participant"),
		endpoints:   pick("endpoints").String("endpoints"),
		json:        pick("json").Bool("json"),
		timeout:     pick("timeout").Duration("timeout"),
		dial:        dial,
	}
	if cfg.timeout <= 0 {
		return config{}, failf("--timeout must be positive, not %v", cfg.timeout)
	}
	id, err := loadTLS(pick("tls-cert").String("tls-cert"), pick("tls-key").String("tls-key"), pick("tls-ca").String("tls-ca"))
	if err != nil {
		return config{}, failf("%v", err)
	}
	if id != nil {
		cfg.dial = withTLS(dial, id)
	}
	return cfg, nil
}

// loadTLS reads the client's TLS identity: nil when no file is named, an
// error when only some are (half a TLS setup is a mistake, not plain TCP).
func loadTLS(cert, key, ca string) (*transport.TLS, error) {
	if cert == "" && key == "" && ca == "" {
		return nil, nil
	}
	var missing []string
	for _, f := range []struct{ name, val string }{{"--tls-cert", cert}, {"--tls-key", key}, {"--tls-ca", ca}} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--tls-cert, --tls-key and --tls-ca go together: %s missing", strings.Join(missing, " and "))
	}
	return transport.LoadTLS(cert, key, ca)
}

// endpointList is --endpoints normalized: each address once, in order.
func (cfg config) endpointList() ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, a := range strings.Split(cfg.endpoints, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		addr, err := wire.NormalizeAddr(a)
		if err != nil {
			return nil, failf("--endpoints: %v", err)
		}
		if !seen[addr] {
			seen[addr] = true
			out = append(out, addr)
		}
	}
	if cfg.endpoints != "" && len(out) == 0 {
		return nil, failf("--endpoints names no address")
	}
	return out, nil
}
