package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// The explorer: a model checker over the real machines. From a client's
// Start of one transaction over the participants, it tries every
// interleaving of the moves (explore_move.go) within the bounds, depth
// first, and checks every state it reaches: the simulator's own checks
// while effects are carried out (checks.go), CheckAtomic, and that what a
// client was told agrees with what every member decided. A state is
// rebuilt by replaying the moves that reached it (the machines are
// deterministic), and visited once per fingerprint (explore_key.go) and
// budget: a state seen before with at least as much budget left is not
// explored again.
//
// Time is abstract: any armed timer may fire at any point, while messages
// are still in flight. That over-approximates the real clocks, as an
// asynchronous network does (a timeout is only a guess), and it is what
// 3PC's termination protocol cannot survive.

// Bounds limit an exploration.
type Bounds struct {
	Participants int
	Crashes      int // per participant: each crash may be followed by a restart
	Fires        int // timer fires per participant
	CoordCrashes int // the coordinator's crashes
	CoordFires   int // the coordinator's timer fires
	Losses       int // messages the network loses, in all
	Splits       int // partitions (Split into two sides, never healed)
}

// Exploration is one run of the explorer.
type Exploration struct {
	Proto  wire.Protocol
	Bounds Bounds
	// FIFO delivers each link's messages in the order they were sent (a
	// TCP connection); without it any message in flight may overtake.
	FIFO bool
	// MaxDepth bounds the moves after the client's Start (0: no bound).
	// A state is explored again when reached in fewer moves, so the search
	// is exhaustive up to that depth.
	MaxDepth int
	// MaxStates stops a run that would take too long (0: no limit).
	MaxStates int
}

// Result is what an exploration found.
type Result struct {
	States    int // distinct states (fingerprint and budget) explored
	Moves     int // moves carried out, replays not counted
	MaxDepth  int
	Truncated bool // MaxStates was reached
	Elapsed   time.Duration
	// Violation is the first counter-example found (nil: none).
	Violation *Violation
}

// Violation is a sequence of moves from the client's Start that breaks a
// check, with what broke.
type Violation struct {
	Moves  []Move
	Errors []string
	// Transcript is the replayed run: every move and what each machine
	// took in and gave out.
	Transcript string
}

func (v *Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nafter %d moves:\n", strings.Join(v.Errors, "\n"), len(v.Moves))
	for i, m := range v.Moves {
		fmt.Fprintf(&b, "  %2d. %s\n", i+1, m)
	}
	return b.String()
}

// ExploreTx is the transaction an exploration starts.
const ExploreTx = "TX1"

// Run explores every interleaving within the bounds, stopping at the first
// violation.
func (x Exploration) Run() Result {
	start := time.Now()
	e := &explorer{x: x, visited: map[string][]budget{}}
	s, rec, left := e.replay(nil, nil)
	if len(rec.errs) > 0 {
		e.res.Violation = e.violation(nil, rec.errs)
	} else {
		e.seen(s, left)
		e.dfs(s, rec, nil, left)
	}
	e.res.Elapsed = time.Since(start)
	return e.res
}

type explorer struct {
	x       Exploration
	visited map[string][]budget
	res     Result
}

func (e *explorer) stopped() bool { return e.res.Violation != nil || e.res.Truncated }

// dfs explores every move from s, the state path reached. s is used for
// the first move; the others start from a replay.
func (e *explorer) dfs(s *Sim, rec *recorder, path []Move, left budget) {
	e.res.MaxDepth = max(e.res.MaxDepth, len(path))
	if e.x.MaxDepth > 0 && left[len(left)-1] == 0 {
		return
	}
	for i, m := range s.moves(left, e.x.FIFO) {
		if e.stopped() {
			return
		}
		cs, crec, cleft := s, rec, left.clone()
		if i > 0 {
			cs, crec, cleft = e.replay(path, nil)
		}
		if e.x.MaxDepth > 0 {
			cleft[len(cleft)-1]--
		}
		e.res.Moves++
		child := append(path[:len(path):len(path)], m)
		crec.move(func() { cs.do(m, cleft) })
		if errs := crec.check(cs); len(errs) > 0 {
			e.res.Violation = e.violation(child, errs)
			return
		}
		if !e.seen(cs, cleft) {
			continue
		}
		if e.x.MaxStates > 0 && e.res.States >= e.x.MaxStates {
			e.res.Truncated = true
			return
		}
		e.dfs(cs, crec, child, cleft)
	}
}

// seen records s with budget left; false if it was visited before with at
// least as much left.
func (e *explorer) seen(s *Sim, left budget) bool {
	fp := s.fingerprint()
	for _, b := range e.visited[fp] {
		if b.dominates(left) {
			return false
		}
	}
	e.visited[fp] = append(e.visited[fp], left)
	e.res.States++
	return true
}

// replay builds the state path reaches from the client's Start.
func (e *explorer) replay(path []Move, transcript *strings.Builder) (*Sim, *recorder, budget) {
	rec := &recorder{}
	ids := []string{"A", "B", "C", "D", "E", "F", "G", "H"}[:e.x.Bounds.Participants]
	s := New(rec, ids...)
	s.Proto = e.x.Proto
	s.Transcript = transcript
	left := newBudget(e.x.Bounds, 1+len(ids))
	if e.x.MaxDepth > 0 {
		left[len(left)-1] = e.x.MaxDepth - len(path)
	}
	rec.move(func() {
		s.note("client starts %s", ExploreTx)
		s.Begin(ExploreTx, oneOpEach(ids, wire.Op{Kind: wire.OpSet, Key: "k", Value: "v"}))
		s.tidy()
	})
	for i, m := range path {
		s.note("── %d. %s", i+1, m)
		rec.move(func() { s.do(m, left) })
	}
	return s, rec, left
}

func (e *explorer) violation(path []Move, errs []string) *Violation {
	var b strings.Builder
	e.replay(path, &b)
	return &Violation{Moves: path, Errors: errs, Transcript: b.String()}
}

func oneOpEach(ids []string, op wire.Op) map[string][]wire.Op {
	m := map[string][]wire.Op{}
	for _, id := range ids {
		m[id] = []wire.Op{op}
	}
	return m
}

func (l budget) clone() budget { return append(budget(nil), l...) }

// recorder is the testing.TB an explored Sim reports to: it keeps the
// errors instead of failing a test. A Fatal ends the move.
type recorder struct {
	testing.TB
	errs []string
}

type fatal struct{}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}
func (r *recorder) Error(a ...any)                 { r.errs = append(r.errs, fmt.Sprint(a...)) }
func (r *recorder) Fatalf(format string, a ...any) { r.Errorf(format, a...); panic(fatal{}) }
func (r *recorder) Fatal(a ...any)                 { r.Error(a...); panic(fatal{}) }
func (r *recorder) Logf(string, ...any)            {}

// move runs f, turning a Fatal, or a machine's panic, into an error.
func (r *recorder) move(f func()) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(fatal); !ok {
				r.errs = append(r.errs, fmt.Sprintf("panic: %v", p))
			}
		}
	}()
	f()
}

// check runs the checks of a state and returns every error so far.
func (r *recorder) check(s *Sim) []string {
	s.CheckAtomic(ExploreTx)
	s.checkToldSoFar(ExploreTx)
	return r.errs
}

// checkToldSoFar is CheckTold for a cluster still at work: a client told
// COMMITTED must not see a member abort, nor one told ABORTED see a member
// commit. (CheckTold also wants the outcome applied everywhere, which only
// a settled cluster owes.)
func (s *Sim) checkToldSoFar(tx string) {
	told := s.told(tx)
	for _, id := range s.ids {
		n := s.nodes[id]
		for _, o := range []struct {
			told wire.State
			kind protocol.RecKind
			st   wire.State
		}{{wire.StateCommitted, protocol.RecAbort, wire.StateAborted}, {wire.StateAborted, protocol.RecCommit, wire.StateCommitted}} {
			if told[o.told] && (n.log.has(false, recIs(o.kind, tx)) || n.p != nil && n.p.State(tx) == o.st) {
				s.t.Errorf("a client was told %s %s but %s is %s", tx, o.told, id, o.st)
			}
		}
	}
}
