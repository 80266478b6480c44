// Package coordinator hosts the coordinator role on hollywood actors. Start
// replays the coordinator's log, connects to the participants and spawns
// one shard actor per core; each shard hosts a protocol.Coordinator (every
// protocol rule is there) for the transaction ids that hash to it and
// carries out its effects. The router sends what arrives on a connection to
// the shard of its transaction; status merges every shard's part; Drain
// waits until every shard's clients have their outcome.
package coordinator
