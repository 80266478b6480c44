package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/txd/txd/actors/coordinator"
	"github.com/txd/txd/actors/metrics"
	"github.com/txd/txd/actors/node"
	"github.com/txd/txd/actors/participant"
	"github.com/txd/txd/internal/version"
	"github.com/txd/txd/wire"
	"github.com/txd/txd/wire/transport"
)

func nodeFlags(role string) []cli.Flag {
	env := func(s string) []string { return []string{"TXD_" + s} }
	return append([]cli.Flag{
		&cli.StringFlag{Name: "id", Required: true, Usage: "this node's id (letters, digits, _ - .)", EnvVars: env("ID")},
		&cli.IntFlag{Name: "port", Required: true, Usage: "TCP port to listen on", EnvVars: env("PORT")},
		&cli.StringFlag{Name: "host", Value: "0.0.0.0", Usage: "address to listen on", EnvVars: env("HOST")},
		&cli.StringFlag{Name: "wal", Required: true, Usage: "write-ahead log file (for a fresh start delete it and its control file, <wal>.ctl)", EnvVars: env("WAL")},
		&cli.BoolFlag{Name: "unsafe-no-fsync", Usage: "UNSAFE: never fsync the log (benchmarks only; a crash can lose decisions)", EnvVars: env("UNSAFE_NO_FSYNC")},
		&cli.Int64Flag{Name: "compact-bytes", Value: 64 << 20, Usage: "checkpoint the log after this many bytes are appended (negative: never)", EnvVars: env("COMPACT_BYTES")},
		&cli.DurationFlag{Name: "wal-bound-interval", Value: time.Second, Usage: "how often, at most, the log's control file (<wal>.ctl) records how far the log is durable; a log cut short of that is refused at start (negative: only at start, checkpoint and stop)", EnvVars: env("WAL_BOUND_INTERVAL")},
		&cli.StringFlag{Name: "tls-cert", Usage: "this node's certificate (PEM, CommonName = --id); with --tls-key and --tls-ca: mutual TLS on every connection (see txd certs)", EnvVars: env("TLS_CERT")},
		&cli.StringFlag{Name: "tls-key", Usage: "the private key of --tls-cert (PEM)", EnvVars: env("TLS_KEY")},
		&cli.StringFlag{Name: "tls-ca", Usage: "the cluster's CA certificate (PEM): peers and clients must present a certificate it signed", EnvVars: env("TLS_CA")},
		&cli.DurationFlag{Name: "idle-timeout", Value: transport.DefaultIdleTimeout, Usage: "close a client connection that sends nothing for this long (0: never); the coordinator's and peers' connections are never timed out", EnvVars: env("IDLE_TIMEOUT")},
		&cli.IntFlag{Name: "max-clients", Usage: "client connections at once; more are refused as busy (default: fitted to the file descriptor limit, at most 1024; the coordinator's and peers' connections are not counted)", EnvVars: env("MAX_CLIENTS")},
		&cli.Int64Flag{Name: "client-send-bytes", Value: transport.DefaultClientSendBytes, Usage: "bytes waiting to be written to all client connections together; past it the client holding the most is dropped (the coordinator's and peers' connections are not counted)", EnvVars: env("CLIENT_SEND_BYTES")},
		&cli.Int64Flag{Name: "client-read-bytes", Value: transport.DefaultClientReadBytes, Usage: "bytes of large client frames (over 32 KiB) being read at once; one more waits for room, at most its frame timeout (the coordinator's and peers' connections are not counted)", EnvVars: env("CLIENT_READ_BYTES")},
		metricsFlag(),
	}, logFlags()...)
}

// clientLimits reads --max-clients, --idle-timeout, --client-send-bytes
// and --client-read-bytes for the node's config (0 meaning the default
// there, negative never/none).
func clientLimits(c *cli.Context) (node.ClientLimits, error) {
	l := node.ClientLimits{Max: c.Int("max-clients"), IdleTimeout: c.Duration("idle-timeout"),
		SendBytes: c.Int64("client-send-bytes"), ReadBytes: c.Int64("client-read-bytes")}
	switch {
	case l.IdleTimeout < 0:
		return l, cli.Exit(fmt.Sprintf("--idle-timeout %v: want 0 (never) or a positive duration", l.IdleTimeout), 2)
	case l.IdleTimeout == 0:
		l.IdleTimeout = -1 // never
	}
	if l.Max < 0 {
		return l, cli.Exit(fmt.Sprintf("--max-clients %d: want a positive number, or 0 for the default", l.Max), 2)
	}
	if l.SendBytes <= 0 {
		return l, cli.Exit(fmt.Sprintf("--client-send-bytes %d: want a positive number of bytes", l.SendBytes), 2)
	}
	if l.ReadBytes < wire.DefaultMaxFrame {
		return l, cli.Exit(fmt.Sprintf("--client-read-bytes %d: want at least a frame's limit (%d bytes)", l.ReadBytes, wire.DefaultMaxFrame), 2)
	}
	return l, nil
}

// logConnLimits says, once the node is up, which connection limits it runs
// with (the defaults depend on the descriptor limit).
func logConnLimits(c *cli.Context, logger *slog.Logger) {
	l := transport.DefaultLimits()
	if n := c.Int("max-clients"); n > 0 {
		l.Clients = n
	}
	logger.Info("connection limits", "max_clients", l.Clients, "handshaking", l.Handshaking, "peers", l.Peers,
		"idle_timeout", c.Duration("idle-timeout"),
		"client_send_bytes", c.Int64("client-send-bytes"), "client_read_bytes", c.Int64("client-read-bytes"))
}

// nodeTLS loads the node's TLS identity from --tls-cert, --tls-key and
// --tls-ca: all three, or none for plain TCP.
func nodeTLS(c *cli.Context) (*transport.TLS, error) {
	t, err := loadTLS(c.String("tls-cert"), c.String("tls-key"), c.String("tls-ca"))
	if err != nil {
		return nil, cli.Exit(err.Error(), 2)
	}
	// Peers bind the id a node claims to its certificate's name and refuse
	// a mismatch: better said here, once, than by every peer at every redial.
	if t != nil && t.Name() != c.String("id") {
		return nil, cli.Exit(fmt.Sprintf("--tls-cert is for %q but --id is %q: peers would refuse this node", t.Name(), c.String("id")), 2)
	}
	if t != nil && t.Role() != "" {
		return nil, cli.Exit(fmt.Sprintf("--tls-cert is a client's certificate (role %s): peers would refuse it from a node; a node's comes from txd certs --nodes or --add-nodes", t.Role()), 2)
	}
	return t, nil
}

// loadTLS reads a TLS identity: nil when no file is named, an error when
// only some are.
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

// warnPlaintext warns, once at start-up, about a node that listens beyond
// loopback without TLS: anyone who can reach its port can run transactions,
// and pose as a participant or the coordinator.
func warnPlaintext(logger *slog.Logger, host string, t *transport.TLS) {
	if t != nil || loopback(host) {
		return
	}
	logger.Warn("NO TLS: listening beyond loopback without authentication or encryption; anyone who can reach this port can run transactions and pose as a node (use --tls-cert, --tls-key and --tls-ca; see txd certs)", "host", host)
}

// loopback reports whether host is a loopback address. An empty host or
// 0.0.0.0 listens on every interface.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func listenAddr(c *cli.Context) (string, error) {
	port := c.Int("port")
	if port <= 0 || port > 65535 {
		return "", cli.Exit(fmt.Sprintf("--port %d: want 1-65535", port), 2)
	}
	return net.JoinHostPort(c.String("host"), strconv.Itoa(port)), nil
}

func positive(c *cli.Context, name string) (time.Duration, error) {
	d := c.Duration(name)
	if d <= 0 {
		return 0, cli.Exit(fmt.Sprintf("--%s %v: want a positive duration such as 2s", name, d), 2)
	}
	return d, nil
}

// fatal stops the process: the node is crash-only and its log brings it back.
func fatal(logger *slog.Logger) func(error) {
	return func(err error) {
		logger.Error("fatal: stopping the node", "err", err)
		os.Exit(1)
	}
}

func coordinatorCommand() *cli.Command {
	return &cli.Command{
		Name:  "coordinator",
		Usage: "run the coordinator",
		Flags: append(nodeFlags("coordinator"),
			&cli.StringFlag{Name: "participants", Required: true, Usage: "comma-separated participant addresses: host:port, http://host:port or id=host:port", EnvVars: []string{"TXD_PARTICIPANTS"}},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "how long to wait for votes before aborting", EnvVars: []string{"TXD_TIMEOUT"}},
			&cli.DurationFlag{Name: "delay", Value: 0, Usage: "pause after a decision is durably logged, before phase two (the window to kill -9 the coordinator)", EnvVars: []string{"TXD_DELAY"}},
			&cli.StringFlag{Name: "advertise", Usage: "address participants use to reach this coordinator (default: this port at the address they see)", EnvVars: []string{"TXD_ADVERTISE"}},
			&cli.IntFlag{Name: "max-inflight", Value: 10000, Usage: "transactions in flight before new ones are refused as busy", EnvVars: []string{"TXD_MAX_INFLIGHT"}},
			&cli.IntFlag{Name: "keep-outcomes", Value: 100000, Usage: "finished transactions whose outcome is remembered: a retried id within this window gets it back instead of running again", EnvVars: []string{"TXD_KEEP_OUTCOMES"}},
			&cli.Int64Flag{Name: "keep-outcomes-bytes", Value: coordinator.DefaultKeepBytes, Usage: "estimated memory the remembered outcomes may hold (long abort reasons count): past it, or past --keep-outcomes, the oldest are forgotten", EnvVars: []string{"TXD_KEEP_OUTCOMES_BYTES"}},
		),
		Action: func(c *cli.Context) error {
			logger, err := newLogger(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			listen, err := listenAddr(c)
			if err != nil {
				return err
			}
			timeout, err := positive(c, "timeout")
			if err != nil {
				return err
			}
			if c.Int64("keep-outcomes-bytes") <= 0 {
				return cli.Exit("--keep-outcomes-bytes: want a positive number of bytes", 2)
			}
			if c.Duration("delay") < 0 {
				return cli.Exit("--delay: want zero or a positive duration", 2)
			}
			tlsID, err := nodeTLS(c)
			if err != nil {
				return err
			}
			logger = logger.With("node", c.String("id"), "role", "coordinator")
			clients, err := clientLimits(c)
			if err != nil {
				return err
			}
			h := &health{}
			ms, err := listenMetrics(c.String("metrics"), metrics.RoleCoordinator, c.String("id"), h)
			if err != nil {
				return err
			}
			ms.serve(logger)
			n, err := coordinator.Start(coordinator.Config{
				NodeID: c.String("id"), Listen: listen, Advertise: c.String("advertise"),
				Participants: splitList(c.String("participants")), WAL: c.String("wal"),
				Timeout: timeout, Delay: c.Duration("delay"), MaxInflight: c.Int("max-inflight"),
				KeepOutcomes: c.Int("keep-outcomes"), KeepBytes: c.Int64("keep-outcomes-bytes"), CompactBytes: c.Int64("compact-bytes"), WALBoundInterval: walBoundInterval(c),
				NoSync: c.Bool("unsafe-no-fsync"), Logger: logger, Fatal: fatal(logger), TLS: tlsID, Metrics: ms.node(),
				Clients: clients,
			})
			if err != nil {
				ms.close()
				return startError(err)
			}
			logger.Info("coordinator listening", "addr", n.Addr(), "version", version.String(), "wal", c.String("wal"), "delay", c.Duration("delay"), "timeout", timeout, "tls", tlsID != nil)
			warnPlaintext(logger, c.String("host"), tlsID)
			watchCertExpiry(logger, ms, c.String("tls-cert"))
			logConnLimits(c, logger)
			return runUntilDone(c, logger, ms, h, n.Ready, n.Close)
		},
	}
}

func participantCommand() *cli.Command {
	return &cli.Command{
		Name:  "participant",
		Usage: "run a participant",
		Flags: append(nodeFlags("participant"),
			&cli.DurationFlag{Name: "timeout", Value: 2 * time.Second, Usage: "how long a READY transaction waits for its outcome before asking the coordinator (and how often it asks again)", EnvVars: []string{"TXD_TIMEOUT"}},
			&cli.DurationFlag{Name: "in-doubt-warn", Value: node.DefaultDoubtWarn, Usage: "log a transaction that stays in doubt (voted YES, outcome unknown) this long, and when it is settled", EnvVars: []string{"TXD_IN_DOUBT_WARN"}},
			&cli.StringSliceFlag{Name: "coordinator", Usage: "the coordinator id(s) to take PREPARE and outcomes from (repeat or comma list); none: any, with a warning. Proven by its certificate with TLS, only claimed without", EnvVars: []string{"TXD_COORDINATOR"}},
			&cli.StringFlag{Name: "kv", Usage: "the storage engine's directory, which holds the applied data (default: the --wal path with .kv appended); it belongs with its log: move, back up or delete both together", EnvVars: []string{"TXD_KV"}},
		),
		Action: func(c *cli.Context) error {
			logger, err := newLogger(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			listen, err := listenAddr(c)
			if err != nil {
				return err
			}
			timeout, err := positive(c, "timeout")
			if err != nil {
				return err
			}
			tlsID, err := nodeTLS(c)
			if err != nil {
				return err
			}
			doubtWarn, err := positive(c, "in-doubt-warn")
			if err != nil {
				return err
			}
			logger = logger.With("node", c.String("id"), "role", "participant")
			clients, err := clientLimits(c)
			if err != nil {
				return err
			}
			h := &health{}
			ms, err := listenMetrics(c.String("metrics"), metrics.RoleParticipant, c.String("id"), h)
			if err != nil {
				return err
			}
			ms.serve(logger)
			n, err := participant.Start(participant.Config{
				NodeID: c.String("id"), Listen: listen, WAL: c.String("wal"), KV: c.String("kv"), Timeout: timeout, CompactBytes: c.Int64("compact-bytes"), WALBoundInterval: walBoundInterval(c),
				NoSync: c.Bool("unsafe-no-fsync"), Logger: logger, Fatal: fatal(logger), TLS: tlsID, Metrics: ms.node(),
				Coordinators: splitList(strings.Join(c.StringSlice("coordinator"), ",")),
				Clients:      clients, DoubtWarn: doubtWarn,
			})
			if err != nil {
				ms.close()
				return startError(err)
			}
			logger.Info("participant listening", "addr", n.Addr(), "version", version.String(), "wal", c.String("wal"), "timeout", timeout, "tls", tlsID != nil)
			warnPlaintext(logger, c.String("host"), tlsID)
			watchCertExpiry(logger, ms, c.String("tls-cert"))
			logConnLimits(c, logger)
			// A participant needs no peer to serve: the coordinator dials it.
			return runUntilDone(c, logger, ms, h, func() error { return nil }, n.Close)
		},
	}
}

// startError maps a node that could not start to an exit code: 2 for bad
// configuration, 1 for anything else (a busy port, a corrupt log).
func startError(err error) error {
	var ce *node.ConfigError
	if errors.As(err, &ce) {
		return cli.Exit(err.Error(), 2)
	}
	return cli.Exit(err.Error(), 1)
}

// walBoundInterval is --wal-bound-interval; 0 would select walstore's
// default, which is not what a user asking for 0 means, so it is "never
// between checkpoints" like a negative value.
func walBoundInterval(c *cli.Context) time.Duration {
	if d := c.Duration("wal-bound-interval"); d > 0 {
		return d
	}
	return -1
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
