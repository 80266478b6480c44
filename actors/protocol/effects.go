package protocol

import (
	"time"

	"github.com/txd/txd/wire"
)

// Effect is something a state machine asks its host to do. Hosts carry
// effects out in order. The one contract that matters: a Persist with Force
// must be durable before the host reports it back with a Logged call, and the
// machines only emit the messages that depend on a record after that call
// (persist before you send).
type Effect interface{ effect() }

// Send asks the host to send Msg to node To. Addr, when set, is where To
// listens (a participant learns its coordinator's address from PREPARE).
type Send struct {
	To   string
	Addr string
	Msg  wire.Message
	// Since, on the coordinator's retransmissions only, is when transaction
	// TxID began. If To cannot be reached (its connection is down and a dial
	// begun after Since failed), the host reports it with
	// Coordinator.Unreachable, which may end the wait for its vote at once.
	TxID  string
	Since time.Time
}

// Answer asks the host to send Msg back on the connection a request came
// on (Origin, the host's handle, handed back untouched). Peer names the
// other side for traces: "client", or the asking participant's id.
type Answer struct {
	To   Origin
	Peer string
	Msg  wire.Message
}

// Origin is the host's handle for a connection a request came on. The
// state machines keep it only to hand it back in an Answer.
type Origin any

// Persist asks the host to append Rec to the node's log. With Force the host
// calls the machine's Logged method once the record is durable; without it
// the record rides along with the next forced write (lazy). With Force and
// Defer, Logged still waits for durability, but the record does not start
// an fsync of its own at once: it waits a moment (walDeferMax) for a record
// that needs one, and shares it.
type Persist struct {
	Rec   Record
	Force bool
	Defer bool
}

// SetTimer asks the host to call the machine's Timer method with (TxID, Seq)
// after After. Timers are never cancelled: a machine ignores a timer whose
// Seq is no longer current, so a late fire is harmless.
type SetTimer struct {
	TxID  string
	Seq   uint64
	After time.Duration
	// Kind and Due are the coordinator's (Coordinator.Timer): which of a
	// transaction's timers this is, and when it should fire by the
	// coordinator's clock.
	Kind TimerKind
	Due  time.Time
}

// TimerKind tells a coordinator's timers apart.
type TimerKind uint8

const (
	TimerPhase  TimerKind = iota // the transaction's protocol timer (CoordTxn.Timer)
	TimerResend                  // retransmit its unanswered messages
	TimerForget                  // send the gathered Forget lists (TxID "")
)

// Reply says a transaction's outcome is settled for its clients (durable,
// or certain in 3PC's case). The Coordinator answers them (Answer) and
// passes Reply on for the host's log and metrics.
type Reply struct {
	TxID    string
	Outcome wire.State
	Reason  string
	// TooOld: the id was committed by an earlier run this coordinator no
	// longer remembers; this run aborted and changed nothing. The client
	// must hear "id too old" (Reason), never ABORTED.
	TooOld bool
	// Set by the Coordinator: the protocol, and how long since the
	// transaction began here (Client: a client started it on this run;
	// otherwise it was recovered from the log).
	Protocol wire.Protocol
	Took     time.Duration
	Client   bool
}

// Finished tells the coordinator host that a transaction needs nothing more:
// every participant that must hear the decision has acknowledged it.
type Finished struct{ TxID string }

// Contradiction tells the coordinator host that a participant acknowledged
// the other outcome than the decision. Heuristic: an operator resolved it
// by hand (txcli resolve); otherwise only 3PC under a partition or a long
// pause can get here. The host says so loudly rather than hide it.
type Contradiction struct {
	TxID      string
	Member    string
	State     wire.State // what the participant reached
	Decision  wire.State
	Heuristic bool
}

func (Send) effect()          {}
func (Persist) effect()       {}
func (SetTimer) effect()      {}
func (Reply) effect()         {}
func (Finished) effect()      {}
func (Answer) effect()        {}
func (Contradiction) effect() {}

// RecKind is a log record's type. The values are part of the on-disk format
// and must never change; add new kinds at the end. Zero is invalid.
type RecKind uint8

const (
	// Coordinator records.
	RecBegin    RecKind = 1 + iota // a transaction started: its members (lazy)
	RecDecision                    // COMMIT or ABORT decided (forced before phase two)
	RecEnd                         // every needed ack arrived (lazy)

	// Participant records.
	RecPrepared // voted YES: the redo operations and who to ask (forced before the vote)
	RecCommit   // outcome COMMIT (forced before the ack)
	RecAbort    // outcome ABORT (forced before the ack; lazy after a NO vote)

	// 3PC.
	RecPreCommit // coordinator: PRE-COMMIT decided; participant: PRE-COMMIT received

	// Checkpoints (compaction).
	RecStore  // participant: part of the store, as SET operations in Ops
	RecForget // participant: the coordinator ended this transaction; drop it (lazy)

	// Heuristic decisions (heuristic.go).
	RecHeuristic       // participant: an operator applied Commit to an in-doubt transaction (forced before the reply)
	RecHeuristicDamage // participant: a decision contradicting it arrived (Commit: that decision; forced before the ack)

	// Retries of forgotten ids (coordtooold.go).
	RecTooOld // coordinator: this run of the id aborted because a member had committed an earlier one (Reason; lazy, just before the DECISION)
)

// RecApplied opens a participant's checkpoint when its data lives in a
// storage engine: the engine durably holds the commits up to Seq, and the
// log before the checkpoint is gone. Its host checks it at start (replay
// needs an engine at Seq or later) and does not replay it. Its value stands
// apart from the list above, which grows by one at a time.
const RecApplied RecKind = 32

var recNames = [...]string{
	RecBegin: "BEGIN", RecDecision: "DECISION", RecEnd: "END",
	RecPrepared: "PREPARED", RecCommit: "COMMIT", RecAbort: "ABORT",
	RecPreCommit: "PRECOMMIT", RecStore: "STORE", RecForget: "FORGET",
	RecHeuristic: "HEURISTIC", RecHeuristicDamage: "HEURISTIC-DAMAGE",
	RecTooOld: "TOO-OLD", RecApplied: "APPLIED",
}

func (k RecKind) String() string {
	if int(k) < len(recNames) && recNames[k] != "" {
		return recNames[k]
	}
	return "RecKind(?)"
}

// Record is one log record. One struct serves every kind; unused fields stay
// empty (msgpack encodes them in a byte each). Its codec is generated
// (effects_codec_gen.go; see record_codec.go).
//
//txd:codec encode decode
type Record struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Kind      RecKind  `msgpack:"-"` // stored as the log's record type byte
	TxID      string
	Protocol  wire.Protocol
	Commit    bool          // RecDecision
	Reason    string        `txd:"cut=wire.MaxReasonLen"`
	Ops       []wire.Op     `txd:"max=maxRecordOps,what=operations"` // RecPrepared: this participant's operations
	Coord     string        // RecPrepared: coordinator id
	CoordAddr string        // RecPrepared: where to ask for the outcome
	Members   []wire.Member `txd:"max=wire.MaxMembers,what=members"` // RecBegin, RecPrepared: the transaction's participants
	// Time is when the record was appended (unix nanoseconds, the node's
	// clock), set by the WAL writer; a checkpoint keeps it, so a trace can
	// show a record written before a restart. Older records lack it (0).
	Time int64
	// Seq is a commit's apply sequence number (RecCommit, and RecHeuristic
	// with Commit): 1, 2, … in the order commits reach the store, so that
	// replay skips those a storage engine already holds (apply.go). Records
	// from before it existed have 0.
	Seq uint64
	// Digest, on the coordinator's RecBegin, sums up the client's request
	// (opsDigest, in hex) so that a retry of the id with other operations is
	// refused after a restart too. A string, so that the other records pay
	// one byte for it, not a uint64's nine. "" (records from before it
	// existed, or a run no client started): not known, any retry accepted.
	Digest string
}
