// Package walwriter is a node's only writer of its write-ahead log
// (walstore): it group-commits the protocol's records, tells the actor
// waiting for a forced record once it is durable (Durable), checkpoints the
// log from a model of its content (Shadow), and holds the log's crash
// points and the traces of logged records. Both roles use it.
package walwriter
