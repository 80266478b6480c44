package wire

import "fmt"

// Version is the protocol version exchanged in the handshake. Peers with a
// different version refuse each other with a clear error.
const Version uint16 = 1

// Type tags a frame's payload. The values are part of the wire format and
// must never change; add new types at the end. Zero is invalid.
type Type uint8

const (
	TypeHello         Type = 1 + iota // first frame on every connection, from the dialer
	TypeHelloAck                      // the listener's answer to Hello
	TypeError                         // a request failed, or the handshake was refused
	TypeStart                         // client → coordinator: run a transaction
	TypeStartResult                   // coordinator → client: its outcome
	TypeStatusReq                     // client → any node: report your state
	TypeStatus                        // node → client
	TypePrepare                       // coordinator → participant: 2PC PREPARE / 3PC CAN-COMMIT
	TypeVote                          // participant → coordinator
	TypeDecision                      // COMMIT (2PC) / DO-COMMIT (3PC) or ABORT
	TypeAck                           // participant → coordinator: decision or pre-commit applied
	TypeQuery                         // participant → coordinator or peer: what was decided?
	TypePreCommit                     // coordinator → participant (3PC)
	TypeQueryReply                    // answer to Query: the sender's state of that transaction
	TypeForget                        // coordinator → participant: these transactions ended; drop them
	TypeTraceReq                      // client → any node: what did you record of this transaction?
	TypeTrace                         // node → client: its trace events for it
	TypeResolve                       // client → participant: apply an operator's heuristic outcome to an in-doubt transaction
	TypeResolveResult                 // participant → client: what Resolve did
	TypeGetReq                        // client → participant: the values of these keys
	TypeGetResult                     // participant → client
	TypeScanReq                       // client → participant: the next keys under a prefix, in order
	TypeScanResult                    // participant → client: one page of them

	TypeLimit // one past the last valid type; not a type
)

var typeNames = [...]string{
	TypeHello: "Hello", TypeHelloAck: "HelloAck", TypeError: "Error",
	TypeStart: "Start", TypeStartResult: "StartResult",
	TypeStatusReq: "StatusReq", TypeStatus: "Status",
	TypePrepare: "Prepare", TypeVote: "Vote", TypeDecision: "Decision",
	TypeAck: "Ack", TypeQuery: "Query", TypePreCommit: "PreCommit",
	TypeQueryReply: "QueryReply", TypeForget: "Forget",
	TypeTraceReq: "TraceReq", TypeTrace: "Trace",
	TypeResolve: "Resolve", TypeResolveResult: "ResolveResult",
	TypeGetReq: "GetReq", TypeGetResult: "GetResult", TypeScanReq: "ScanReq", TypeScanResult: "ScanResult",
}

// known reports whether t is a type this build decodes, without
// allocating a message as New does: New stopped being inlined as types
// were added, and AppendFrame's New(t) check then cost an allocation per frame.
func (t Type) known() bool { return t > 0 && t < TypeLimit && typeNames[t] != "" }

// forClient reports whether t is an answer only a client reads. A node
// never decodes one: a Status or Trace is the costliest message to decode
// (maps, a list per transaction), so a peer sending them to a node is
// refused before they cost it anything.
func (t Type) forClient() bool {
	switch t {
	case TypeStartResult, TypeStatus, TypeTrace, TypeResolveResult, TypeGetResult, TypeScanResult:
		return true
	}
	return false
}

func (t Type) String() string {
	if t.known() {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Types lists every valid message type in tag order.
func Types() []Type {
	out := make([]Type, 0, TypeLimit-1)
	for t := Type(1); t < TypeLimit; t++ {
		out = append(out, t)
	}
	return out
}

// Message is any frame payload.
type Message interface{ Type() Type }

// Role says what a connection's peer is.
type Role string

const (
	RoleCoordinator Role = "coordinator"
	RoleParticipant Role = "participant"
	RoleClient      Role = "client"
)

// Protocol is the commit protocol a transaction runs.
type Protocol string

const (
	TwoPC   Protocol = "2PC"
	ThreePC Protocol = "3PC"
	// Parallel commits: a transaction is committed exactly when every
	// member has durably voted YES, and the client hears so as soon as the
	// last vote arrives (docs/protocols.md, "PARALLEL").
	Parallel Protocol = "PARALLEL"
)

// Valid reports whether p is a protocol this build runs.
func (p Protocol) Valid() bool { return p == TwoPC || p == ThreePC || p == Parallel }

// ParseProtocol accepts 2PC/3PC/PARALLEL in upper or lower case.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "2PC", "2pc":
		return TwoPC, nil
	case "3PC", "3pc":
		return ThreePC, nil
	case "PARALLEL", "parallel":
		return Parallel, nil
	}
	return "", fmt.Errorf("unknown protocol %q (want 2PC, 3PC or PARALLEL)", s)
}

// State is a transaction's state as one node sees it. The strings are part of
// txcli's JSON contract.
type State string

const (
	StateUnknown      State = ""             // never heard of it (or forgotten: presumed abort)
	StateInit         State = "INIT"         // coordinator: sent PREPARE, no vote yet
	StateReady        State = "READY"        // voted YES, outcome unknown
	StatePrecommitted State = "PRECOMMITTED" // 3PC: PRE-COMMIT received and logged
	StateCommitted    State = "COMMITTED"
	StateAborted      State = "ABORTED"
)

// Final reports whether no later message can change the state.
func (s State) Final() bool { return s == StateCommitted || s == StateAborted }

// Hello opens every connection: the dialer says who it is.
//
//txd:codec encode decode
type Hello struct {
	_msgpack struct{} `msgpack:",as_array"`
	Version  uint16
	NodeID   string
	Role     Role
}

// HelloAck accepts a Hello: the listener says who it is.
//
//txd:codec encode decode
type HelloAck struct {
	_msgpack struct{} `msgpack:",as_array"`
	Version  uint16
	NodeID   string
	Role     Role
}

// Error answers a request that failed (ReqID 0: the connection itself, e.g.
// a refused handshake; the sender closes the connection after it).
//
//txd:codec encode decode
type Error struct {
	_msgpack struct{} `msgpack:",as_array"`
	ReqID    uint64
	Code     ErrorCode
	Msg      string `txd:"cut=MaxErrorMsgLen"`
}

// ErrorCode classifies an Error for programs.
type ErrorCode string

const (
	ErrBadRequest ErrorCode = "bad_request" // the request is malformed or names unknown things
	ErrBusy       ErrorCode = "busy"        // too many transactions in flight, or connections; retry later
	ErrShutdown   ErrorCode = "shutdown"    // the node is stopping
	ErrHandshake  ErrorCode = "handshake"   // version or role mismatch
	ErrInternal   ErrorCode = "internal"
	ErrIdle       ErrorCode = "idle" // the connection sent nothing for the node's idle timeout; it is closed
	// ErrTooOld: a Start retried an id whose outcome the coordinator no
	// longer remembers, while a participant remembers it as committed;
	// the retry was not run (Msg says who remembers what).
	ErrTooOld ErrorCode = "too_old"
	// ErrIDReused: a Start retried an id with other operations or another
	// protocol than the run the coordinator runs or remembers under it;
	// the request was not run (an id is an idempotency key: one request).
	ErrIDReused ErrorCode = "id_reused"
)

func (*Hello) Type() Type       { return TypeHello }
func (*HelloAck) Type() Type    { return TypeHelloAck }
func (*Error) Type() Type       { return TypeError }
func (*Start) Type() Type       { return TypeStart }
func (*StartResult) Type() Type { return TypeStartResult }
func (*StatusReq) Type() Type   { return TypeStatusReq }
func (*Status) Type() Type      { return TypeStatus }
func (*Prepare) Type() Type     { return TypePrepare }
func (*Vote) Type() Type        { return TypeVote }
func (*Decision) Type() Type    { return TypeDecision }
func (*Ack) Type() Type         { return TypeAck }
func (*Query) Type() Type       { return TypeQuery }
func (*PreCommit) Type() Type   { return TypePreCommit }
func (*QueryReply) Type() Type  { return TypeQueryReply }
func (*Forget) Type() Type      { return TypeForget }
func (*TraceReq) Type() Type    { return TypeTraceReq }
func (*Trace) Type() Type       { return TypeTrace }

// New returns an empty message of type t, or nil for an unknown type.
func New(t Type) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeHelloAck:
		return new(HelloAck)
	case TypeError:
		return new(Error)
	case TypeStart:
		return new(Start)
	case TypeStartResult:
		return new(StartResult)
	case TypeStatusReq:
		return new(StatusReq)
	case TypeStatus:
		return new(Status)
	case TypePrepare:
		return new(Prepare)
	case TypeVote:
		return new(Vote)
	case TypeDecision:
		return new(Decision)
	case TypeAck:
		return new(Ack)
	case TypeQuery:
		return new(Query)
	case TypePreCommit:
		return new(PreCommit)
	case TypeQueryReply:
		return new(QueryReply)
	case TypeForget:
		return new(Forget)
	case TypeTraceReq:
		return new(TraceReq)
	case TypeTrace:
		return new(Trace)
	case TypeResolve:
		return new(Resolve)
	case TypeResolveResult:
		return new(ResolveResult)
	case TypeGetReq:
		return new(GetReq)
	case TypeGetResult:
		return new(GetResult)
	case TypeScanReq:
		return new(ScanReq)
	case TypeScanResult:
		return new(ScanResult)
	}
	return nil
}
