package participant

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/txd/txd/walstore"
)

// ErrUnpaired is returned by Start when the log and the storage engine do
// not go together: one of them is missing while the other holds data, or
// the log was checkpointed into a later engine than the one found. The
// node refuses to start rather than serve data its log does not account
// for, or lose the commits only the engine held.
var ErrUnpaired = errors.New("the log and the storage engine do not go together")

// freshStart is what an operator does to start the node anew, which drops
// its data.
const freshStart = "for a fresh start, which drops this node's data, delete the log, %s and %s (docs/operations.md, \"Fresh start\")"

// onDisk says which of the log and the engine existed before Start opened
// them: opening creates a missing one.
type onDisk struct {
	wal, kv bool
}

func lookOnDisk(cfg Config) (onDisk, error) {
	wal, err := exists(cfg.WAL)
	if err != nil {
		return onDisk{}, err
	}
	kv, err := exists(cfg.KV)
	if err != nil {
		return onDisk{}, err
	}
	return onDisk{wal: wal, kv: kv}, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("participant: %w", err)
	}
	return true, nil
}

// logMissing is the refusal of an engine that holds data without its log
// (a node whose engine is empty never had a log to lose).
func logMissing(cfg Config, seq uint64, keys int) error {
	return fmt.Errorf("%w: the log %s does not exist, but the storage engine %s holds data (%d keys, commits up to %d): "+
		"the log is the source of truth and holds what the engine does not (transactions in doubt, the latest commits). "+
		"Restore the log with its engine; "+freshStart,
		ErrUnpaired, cfg.WAL, cfg.KV, keys, seq, walstore.ControlPath(cfg.WAL), cfg.KV)
}

// engineBehind is the refusal of a log checkpointed with its commits up to
// seq in the engine, over an engine that holds only those up to base (or
// none: d says whether it existed).
func engineBehind(cfg Config, d onDisk, seq, base uint64) error {
	if !d.kv {
		return fmt.Errorf("%w: the storage engine %s does not exist, but the log %s was checkpointed with its commits up to %d in it: "+
			"those commits are only in the engine. Restore the engine directory with its log; "+freshStart,
			ErrUnpaired, cfg.KV, cfg.WAL, seq, walstore.ControlPath(cfg.WAL), cfg.KV)
	}
	return fmt.Errorf("%w: the log %s was checkpointed with its commits up to %d in the storage engine, but the engine %s holds only those up to %d: "+
		"it is not this log's engine. Restore the engine directory that belongs with this log; "+freshStart,
		ErrUnpaired, cfg.WAL, seq, cfg.KV, base, walstore.ControlPath(cfg.WAL), cfg.KV)
}
