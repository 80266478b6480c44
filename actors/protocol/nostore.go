package protocol

import "github.com/txd/txd/wire"

// NoStore is a Store that holds nothing: for a replay-only model of a
// participant's log (a checkpoint's shadow, walwriter.Shadow) when the data
// lives in a storage engine. Commits keep their numbers and transactions
// their states, but no writes are resolved or kept, and its Snapshot holds
// no STORE records.
type NoStore struct{}

func (NoStore) Get(string) (string, bool, error) { return "", false, nil }
func (NoStore) Commit(uint64, []wire.Op)         {}
func (NoStore) Seq() uint64                      { return 0 }
func (NoStore) Size() StoreSize                  { return StoreSize{} }
func (NoStore) Scan(string, string, int) ([]wire.Entry, bool, error) {
	return nil, false, nil
}
