package protocol

import "github.com/txd/txd/wire"

// Record's msgpack codec is generated from its declaration (effects_codec_gen.go,
// by internal/codecgen): the WAL encodes one per logged step, and msgpack's
// reflection path was a large share of a node's CPU. The bytes are exactly
// those of the reflection encoding (an as_array struct: its fields in
// declaration order, Kind excluded), so existing log files replay
// unchanged; see wire/codec_kit.go for the rules and record_codec_test.go
// for the check against reflection.
//
// A nil, empty or short array resets the whole record, Kind included, as
// reflection resets it for nil and empty; replay sets Kind afterwards. A
// record from before Time was added (8 fields) decodes with Time 0. As on
// the wire, more than maxRecordOps operations or wire.MaxMembers members is
// an error (checked before allocating), and a reason is cut to
// wire.MaxReasonLen bytes (logs written before reasons were bounded replay
// with short ones).

//go:generate go run ../../internal/codecgen/cmd

// maxRecordOps bounds the operations of a decoded record: a transaction's
// (at most wire.MaxOps), or a STORE record's chunk of a checkpoint.
const maxRecordOps = max(wire.MaxOps, storeChunk)
