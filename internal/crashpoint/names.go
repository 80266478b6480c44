// Package crashpoint kills the process with SIGKILL at a named step of the
// protocols, for tests: a real kill -9 at an exact place, where a test that
// kills from outside can only hope to land.
//
// Only binaries built with -tags crashpoints have them (the test harness in
// cmd/internal/cluster builds so). There TXD_CRASHPOINT=name[@n], read once
// by Init, makes the n-th hit of that point (default the first) write one
// line to stderr and SIGKILL the process: no defers run and nothing is
// flushed. In other builds Hit and Before are empty and inlined, so they
// cost nothing on the hot path, and Init refuses TXD_CRASHPOINT rather than
// ignore it (a test would pass without ever crashing).
//
// Every point is listed in this file; Init rejects any other name, so a
// typo cannot make a test pass vacuously.
package crashpoint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// EnvVar selects the crash point: "name" or "name@n".
const EnvVar = "TXD_CRASHPOINT"

// The coordinator's points (a txn actor carrying out its state machine's
// effects). "Some" means the first of several messages went out and the
// next did not.
const (
	CoordBeforePrepare      = "coord.begin.before-prepare"       // BEGIN handed to the log (lazy), no PREPARE sent
	CoordPrepareSome        = "coord.prepare.some"               // PREPARE sent to some participants only
	CoordVotesBeforeLog     = "coord.votes.before-decision-log"  // 2PC (or a 3PC abort): decided, the decision not yet handed to the log
	CoordDecisionForced     = "coord.decision.forced"            // the decision is durable; nothing sent, the client not answered
	CoordDecisionSome       = "coord.decision.some"              // the decision sent to some participants only
	CoordAcksBeforeEnd      = "coord.acks.before-end"            // every ack in, END not yet handed to the log
	Coord3PCVotesBeforeLog  = "coord.3pc.votes.before-precommit" // every vote YES, PRE-COMMIT not yet handed to the log
	Coord3PCPreForced       = "coord.3pc.precommit.forced"       // PRE-COMMIT due (BEGIN durable, every vote YES), none sent
	Coord3PCPreSome         = "coord.3pc.precommit.some"         // PRE-COMMIT sent to some participants only
	Coord3PCAcksBeforeLog   = "coord.3pc.acks.before-commit-log" // pre-commit acks in, DO-COMMIT not yet handed to the log
	PartPrepareBeforeLog    = "part.prepare.before-log"          // PREPARE accepted, keys locked, PREPARED not yet handed to the log
	PartPreparedForced      = "part.prepared.forced"             // PREPARED durable, the YES vote not sent
	PartOutcomeForced       = "part.outcome.forced"              // COMMIT or ABORT durable (applied and unlocked already), no ack sent
	Part3PCPreForced        = "part.3pc.precommit.forced"        // PRECOMMIT durable, no ack sent
	Part3PCTerminationKnown = "part.3pc.termination.adopted"     // a termination leader's outcome is durable, not yet sent to the others
	WALBatchWritten         = "wal.batch.written"                // a group-commit batch written to the file, not fsynced
	WALBatchTorn            = "wal.batch.torn"                   // half a batch written (the crash tears a record), not fsynced
	WALSyncedBeforeNotify   = "wal.batch.synced"                 // a batch fsynced, its waiters not yet told
	WALCompactEngineSynced  = "wal.compact.engine-synced"        // checkpoint: the batch fsynced, the storage engine durable, the log not yet rewritten
	WALCompactTempWritten   = "wal.compact.temp-written"         // checkpoint: the temp file written, not fsynced
	WALCompactTempSynced    = "wal.compact.temp-synced"          // checkpoint: the temp file fsynced, not renamed
	WALCompactRenamed       = "wal.compact.renamed"              // checkpoint: renamed over the log, directory not fsynced
	WALCompactDirSynced     = "wal.compact.dir-synced"           // checkpoint: directory fsynced, the waiters not yet told
)

// Names lists every crash point.
func Names() []string {
	return []string{
		CoordBeforePrepare, CoordPrepareSome, CoordVotesBeforeLog, CoordDecisionForced, CoordDecisionSome,
		CoordAcksBeforeEnd, Coord3PCVotesBeforeLog, Coord3PCPreForced, Coord3PCPreSome, Coord3PCAcksBeforeLog,
		PartPrepareBeforeLog, PartPreparedForced, PartOutcomeForced, Part3PCPreForced, Part3PCTerminationKnown,
		WALBatchWritten, WALBatchTorn, WALSyncedBeforeNotify,
		WALCompactEngineSynced, WALCompactTempWritten, WALCompactTempSynced, WALCompactRenamed, WALCompactDirSynced,
	}
}

// Spec is a parsed TXD_CRASHPOINT: crash at the At-th hit of Name.
type Spec struct {
	Name string
	At   int64
}

// String is the spec as TXD_CRASHPOINT spells it.
func (s Spec) String() string { return s.Name + "@" + strconv.FormatInt(s.At, 10) }

// Parse reads "name" or "name@n" (n >= 1); the name must be a known point.
func Parse(v string) (Spec, error) {
	name, count, hasCount := strings.Cut(v, "@")
	s := Spec{Name: name, At: 1}
	if hasCount {
		n, err := strconv.ParseInt(count, 10, 64)
		if err != nil || n < 1 {
			return Spec{}, fmt.Errorf("%s=%q: the count after @ must be a positive integer", EnvVar, v)
		}
		s.At = n
	}
	if !slices.Contains(Names(), name) {
		return Spec{}, fmt.Errorf("%s=%q: unknown crash point %q (known: %s)", EnvVar, v, name, strings.Join(Names(), ", "))
	}
	return s, nil
}
