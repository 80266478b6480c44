package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/txd/txd/wire"
	"github.com/urfave/cli/v2"
)

const getArgsUsage = "KEY..."

const getDescription = `Prints the committed values of the given keys on one participant
(--participant): one "KEY  VALUE" row per key found, in the order given.
A prepared transaction's writes are not seen until it commits. Any number of
keys may be given; they are read a page at a time.

   txcli --participant http://IP_B:8001 get balance
   txcli --participant IP_B:8001 get --json balance note

Exit codes: 0 every key found, 1 some key missing (named on stderr; the
others are still printed), 2 usage error, participant unreachable or the
request refused.`

// getJSON is get's answer with --json.
type getJSON struct {
	Keys    map[string]string `json:"keys"`    // the keys found, with their values
	Missing []string          `json:"missing"` // the keys not found, in the order given
	Error   string            `json:"error,omitempty"`
	Code    string            `json:"code,omitempty"` // the node's error code
}

func getCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:         "get",
		Usage:        "print the values of keys on a participant (--participant)",
		ArgsUsage:    getArgsUsage,
		Description:  getDescription,
		Flags:        commandFlags(),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			rc, err := parseRead(cfg, "get")
			if err != nil {
				return err
			}
			keys := c.Args().Slice()
			if len(keys) == 0 {
				return failf("get: no keys given (usage: txcli --participant ADDR get %s)", getArgsUsage)
			}
			for _, k := range keys {
				if err := wire.CheckKey(k); err != nil {
					return failf("get: %v", err)
				}
			}
			return runGet(c.Context, rc, keys, s)
		},
	}
}

func runGet(ctx context.Context, rc readConfig, keys []string, s streams) error {
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()
	out := getJSON{Keys: map[string]string{}, Missing: []string{}}
	fail := func(err error) error {
		if rc.json {
			out.Error, out.Code = oneLine(err.Error()), errorCode(err)
			if werr := writeJSON(s.out, out); werr != nil {
				return werr
			}
		}
		return failf("%v", err)
	}
	c, rd, err := rc.open(ctx)
	if err != nil {
		return fail(err)
	}
	defer release(c)
	entries, err := await(ctx, func(ctx context.Context) ([]wire.GetEntry, error) { return rd.Get(ctx, keys) })
	if err != nil {
		return fail(rc.readFailed(ctx, err))
	}
	var found []wire.Entry
	for _, e := range entries {
		if !e.Found {
			out.Missing = append(out.Missing, e.Key)
			continue
		}
		out.Keys[e.Key] = e.Value
		found = append(found, wire.Entry{Key: e.Key, Value: e.Value})
	}
	if rc.json {
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	} else {
		writeRows(s.out, found)
	}
	if len(out.Missing) > 0 {
		quoted := make([]string, len(out.Missing))
		for i, k := range out.Missing {
			quoted[i] = cell(k)
		}
		return &exitErr{code: exitAborted, msg: fmt.Sprintf("not found on %s: %s", rc.participant, strings.Join(quoted, ", "))}
	}
	return nil
}
