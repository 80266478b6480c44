package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/txd/txd/wire"
	"github.com/urfave/cli/v2"
)

const scanDescription = `Prints the committed keys of one participant (--participant) that start
with --prefix, in byte order, with their values: at most --limit of them
(default 100; 0: all of them, streamed page by page as they arrive).
--after KEY starts after that key: when keys remain, scan says which
--after continues it ("next" in --json).

   txcli --participant IP_B:8001 scan --prefix bench/ --limit 10
   txcli --participant IP_B:8001 scan --limit 0 --json > keys.json

With --json, one object: {"keys":[{"key":K,"value":V},...],"more":B,"next":K}
("more": keys remain after the last one printed; "next": that last key, set
only with more). Exit codes: 0 done (an empty result too), 2 usage error,
participant unreachable, or the request refused; a failure part-way through
--limit 0 exits 2 after what was read (with --json, "error" says why and
"next" where to go on).`

// defaultScanLimit is scan's --limit when none is given.
const defaultScanLimit = 100

// scanJSON is scan's answer with --json (written by streamScan, page by page).
type scanJSON struct {
	Keys  []entryJSON `json:"keys"`
	More  bool        `json:"more"`
	Next  string      `json:"next,omitempty"`
	Error string      `json:"error,omitempty"`
	Code  string      `json:"code,omitempty"`
}

type entryJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type scanConfig struct {
	readConfig
	prefix, after string
	limit         int // 0: all
}

func scanCommand(s streams, dial dialFunc) *cli.Command {
	return &cli.Command{
		Name:        "scan",
		Usage:       "print a participant's keys under a prefix, in order (--participant)",
		Description: scanDescription,
		Flags: append(commandFlags(),
			&cli.StringFlag{Name: "prefix", Usage: "only keys that start with `P`"},
			&cli.StringFlag{Name: "after", Usage: "start after `KEY` (a previous scan's last key)"},
			&cli.IntFlag{Name: "limit", Value: defaultScanLimit, Usage: "print at most `N` keys (0: all)"},
		),
		OnUsageError: onUsageError,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, dial)
			if err != nil {
				return err
			}
			rc, err := parseRead(cfg, "scan")
			if err != nil {
				return err
			}
			sc := scanConfig{readConfig: rc, prefix: c.String("prefix"), after: c.String("after"), limit: c.Int("limit")}
			if c.NArg() > 0 {
				return failf("scan takes no arguments, got %q (a prefix goes in --prefix)", strings.Join(c.Args().Slice(), " "))
			}
			if sc.limit < 0 {
				return failf("scan: --limit must be 0 (all) or positive, not %d", sc.limit)
			}
			if len(sc.prefix) > wire.MaxKeyLen || len(sc.after) > wire.MaxKeyLen {
				return failf("scan: --prefix and --after are keys: at most %d bytes", wire.MaxKeyLen)
			}
			return runScan(c.Context, sc, s)
		},
	}
}

// runScan asks for pages until the limit or the end, printing each as it
// arrives. --timeout bounds each page, not the whole scan: --limit 0 may
// read a store of any size.
func runScan(ctx context.Context, sc scanConfig, s streams) error {
	out := newScanWriter(s.out, sc.json)
	fail := func(err error) error {
		if werr := out.end(err); werr != nil {
			return werr
		}
		return failf("%v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, sc.timeout)
	c, rd, err := sc.open(dctx)
	cancel()
	if err != nil {
		return fail(err)
	}
	defer release(c)
	after, left := sc.after, sc.limit
	for {
		ask := 0 // a full page
		if sc.limit > 0 {
			ask = min(left, wire.MaxReadPage)
		}
		pctx, cancel := context.WithTimeout(ctx, sc.timeout)
		page, err := await(pctx, func(ctx context.Context) (*wire.ScanResult, error) { return rd.Scan(ctx, sc.prefix, after, ask) })
		if err != nil {
			err = sc.readFailed(pctx, err)
		}
		cancel()
		switch {
		case err != nil:
			return fail(err)
		case len(page.Entries) == 0 && page.More:
			return fail(fmt.Errorf("participant at %s sent an empty page with more to come", sc.participant))
		}
		if err := out.page(page.Entries); err != nil {
			return err
		}
		if n := len(page.Entries); n > 0 {
			after = page.Entries[n-1].Key
		}
		left -= len(page.Entries)
		if !page.More || sc.limit > 0 && left <= 0 {
			out.more = page.More
			return out.end(nil)
		}
	}
}

// scanWriter prints scan's pages as they come: rows, or one JSON object
// whose "keys" array is written an entry at a time, so a scan of any size
// holds one page in memory.
type scanWriter struct {
	w       io.Writer
	json    bool
	started bool // JSON: the object and its array are open
	first   bool // JSON: no entry written yet
	rows    int
	more    bool   // keys remain after next
	next    string // the last key printed
}

func newScanWriter(w io.Writer, json bool) *scanWriter {
	return &scanWriter{w: w, json: json, first: true}
}

func (sw *scanWriter) open() {
	if sw.json && !sw.started {
		sw.started = true
		fmt.Fprint(sw.w, `{"keys":[`)
	}
}

func (sw *scanWriter) page(entries []wire.Entry) error {
	sw.rows += len(entries)
	if n := len(entries); n > 0 {
		sw.next = entries[n-1].Key
	}
	if !sw.json {
		writeRows(sw.w, entries)
		return nil
	}
	sw.open()
	for _, e := range entries {
		b, err := marshalJSON(entryJSON{Key: e.Key, Value: e.Value})
		if err != nil {
			return err
		}
		if !sw.first {
			fmt.Fprint(sw.w, ",")
		}
		sw.first = false
		if _, err := sw.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// end closes the output: with --json the object's other fields (err, if
// any, in "error"); without, a note saying how to go on when keys remain.
func (sw *scanWriter) end(err error) error {
	if err != nil && sw.rows > 0 {
		sw.more = true // it stopped part-way: more may remain after next
	}
	if !sw.json {
		switch {
		case err == nil && sw.rows == 0:
			fmt.Fprintln(sw.w, "(no keys)")
		case err == nil && sw.more:
			fmt.Fprintf(sw.w, "(more: go on with --after %s)\n", cell(sw.next))
		}
		return nil
	}
	sw.open()
	tail := scanJSON{More: sw.more}
	if sw.more {
		tail.Next = sw.next
	}
	if err != nil {
		tail.Error, tail.Code = oneLine(err.Error()), errorCode(err)
	}
	b, merr := marshalJSON(tail)
	if merr != nil {
		return merr
	}
	// The tail's own "keys" (null) is dropped: everything after it joins
	// the array written so far.
	rest := strings.TrimPrefix(string(b), `{"keys":null`)
	_, werr := fmt.Fprintf(sw.w, "]%s\n", rest)
	return werr
}

// marshalJSON is json.Marshal without HTML escaping, as writeJSON prints.
func marshalJSON(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
