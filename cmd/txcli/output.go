package main

import (
	"encoding/json"
	"io"

	"github.com/txd/txd/wire"
)

// The JSON txcli prints with --json. Field names are a contract with
// scripts and tests outside the project: never rename; only add.

// startJSON is start's answer.
type startJSON struct {
	ID       string `json:"id"`
	Protocol string `json:"protocol"`
	Outcome  string `json:"outcome,omitempty"` // COMMITTED, ABORTED or UNKNOWN
	Reason   string `json:"reason,omitempty"`  // why it aborted
	Error    string `json:"error,omitempty"`
	Code     string `json:"code,omitempty"` // the node's error code (busy, bad_request, too_old, ...)
}

// outcomeUnknown is startJSON.Outcome when the answer never arrived.
const outcomeUnknown = "UNKNOWN"

// participantJSON is a participant's status. Store holds the whole store
// only when it is small (wire.MaxStatusInlineKeys); store_truncated says
// it is not, and the summary counts it either way.
type participantJSON struct {
	ID           string            `json:"id"`
	Role         string            `json:"role"`
	Store        map[string]string `json:"store"`
	Transactions []txJSON          `json:"transactions"`
	StoreSummaryJSON
}

// StoreSummaryJSON sums a participant's store up (added with get and scan).
type StoreSummaryJSON struct {
	Keys           uint64 `json:"keys"`
	KeyBytes       uint64 `json:"key_bytes"`
	ValueBytes     uint64 `json:"value_bytes"`
	StoreTruncated bool   `json:"store_truncated"` // "store" is empty: the store is too large for a status
}

// coordinatorJSON is the coordinator's status, with each participant's own
// status when it could be fetched.
type coordinatorJSON struct {
	ID           string     `json:"id"`
	Role         string     `json:"role"`
	Participants []peerJSON `json:"participants"`
	Transactions []txJSON   `json:"transactions"`
	// Added with txcli watch; absent from coordinators that predate it.
	Committed uint64 `json:"committed,omitempty"` // decisions since boot
	Aborted   uint64 `json:"aborted,omitempty"`
	BootNs    int64  `json:"boot_ns,omitempty"` // unix ns: when the coordinator process started
	NowNs     int64  `json:"now_ns,omitempty"`  // unix ns: when it made this status
}

// peerJSON is one participant as the coordinator sees it, plus (additions)
// what the participant itself reported, or why it could not be reached.
type peerJSON struct {
	ID                string            `json:"id"`
	Addr              string            `json:"addr"`
	Connected         bool              `json:"connected"`
	Reachable         *bool             `json:"reachable,omitempty"`
	Error             string            `json:"error,omitempty"`
	Store             map[string]string `json:"store,omitzero"`
	Transactions      []txJSON          `json:"transactions,omitzero"`
	*StoreSummaryJSON                   // set when reachable
}

// txJSON is one transaction as a node sees it. Participants is set for the
// coordinator only.
type txJSON struct {
	ID           string            `json:"id"`
	Protocol     string            `json:"protocol"`
	State        string            `json:"state"`
	Reason       string            `json:"reason,omitempty"`
	Participants map[string]string `json:"participants,omitzero"`
	StartedNs    int64             `json:"started_ns,omitempty"` // coordinator: unix ns it began (absent: resumed after a restart)
	DecidedNs    int64             `json:"decided_ns,omitempty"` // coordinator: unix ns its decision was durable
	// Heuristic: the outcome was applied by an operator (txcli resolve);
	// on the coordinator, some participant reported one. Damage: it
	// contradicts the decision (reason says how).
	Heuristic bool `json:"heuristic,omitempty"`
	Damage    bool `json:"heuristic_damage,omitempty"`
	// Applied (coordinator, added with the cluster view's fix): each
	// participant's state as the participant itself reports it, for
	// those reached that list the transaction; "participants" is the
	// coordinator's record, which may assume.
	Applied map[string]string `json:"applied,omitzero"`
	// Participant only (added with resolve's checks): unix ns on its
	// clock when its PREPARED was durable (in doubt since then while
	// READY/PRECOMMITTED).
	PreparedNs int64 `json:"prepared_ns,omitempty"`
}

// peerStatus is a participant's own status as fetched for the cluster view:
// st when reached, err when not.
type peerStatus struct {
	st   *wire.Status
	addr string // where it was reached
	err  error
}

func toParticipantJSON(st *wire.Status) participantJSON {
	return participantJSON{
		ID:               st.NodeID,
		Role:             string(st.Role),
		Store:            storeJSON(st.Store),
		Transactions:     txsJSON(st.Transactions, false),
		StoreSummaryJSON: summaryOf(st),
	}
}

// summaryOf is st's store summary. A node from before the summary sends
// its whole store and no summary: it is counted here.
func summaryOf(st *wire.Status) StoreSummaryJSON {
	sum := StoreSummaryJSON{Keys: st.Keys, KeyBytes: st.KeyBytes, ValueBytes: st.ValueBytes, StoreTruncated: st.StoreTruncated}
	if st.Keys == 0 && !st.StoreTruncated {
		for k, v := range st.Store {
			sum.Keys++
			sum.KeyBytes += uint64(len(k))
			sum.ValueBytes += uint64(len(v))
		}
	}
	return sum
}

// toCoordinatorJSON maps the coordinator's status; peers[i] is
// st.Participants[i]'s own status (nil: not fetched).
func toCoordinatorJSON(st *wire.Status, peers []*peerStatus) coordinatorJSON {
	out := coordinatorJSON{
		ID:           st.NodeID,
		Role:         string(st.Role),
		Participants: make([]peerJSON, 0, len(st.Participants)),
		Transactions: txsJSON(st.Transactions, true),
		Committed:    st.Committed,
		Aborted:      st.Aborted,
		BootNs:       st.Boot,
		NowNs:        st.Now,
	}
	own := ownStates(st, peers)
	for i, tx := range st.Transactions {
		for id := range tx.Participants {
			if mine, ok := own[id][tx.TxID]; ok {
				if out.Transactions[i].Applied == nil {
					out.Transactions[i].Applied = map[string]string{}
				}
				out.Transactions[i].Applied[id] = string(mine.State)
			}
		}
	}
	for i, p := range st.Participants {
		pj := peerJSON{ID: p.ID, Addr: p.Addr, Connected: p.Connected}
		if i < len(peers) && peers[i] != nil {
			ok := peers[i].err == nil
			pj.Reachable = &ok
			if ok {
				pj.Store = storeJSON(peers[i].st.Store)
				pj.Transactions = txsJSON(peers[i].st.Transactions, false)
				sum := summaryOf(peers[i].st)
				pj.StoreSummaryJSON = &sum
			} else {
				pj.Error = oneLine(peers[i].err.Error())
			}
		}
		out.Participants = append(out.Participants, pj)
	}
	return out
}

// storeJSON is never nil: "store" is always an object.
func storeJSON(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// txsJSON keeps the node's order and is never nil: "transactions" is always
// an array. withParticipants gives every transaction a "participants" object.
func txsJSON(txs []wire.TxStatus, withParticipants bool) []txJSON {
	out := make([]txJSON, 0, len(txs))
	for _, t := range txs {
		tj := txJSON{ID: t.TxID, Protocol: string(t.Protocol), State: string(t.State), Reason: t.Reason,
			StartedNs: t.Started, DecidedNs: t.Decided, PreparedNs: t.Prepared,
			Heuristic: t.Heuristic, Damage: t.Damage}
		if withParticipants {
			tj.Participants = make(map[string]string, len(t.Participants))
			for id, s := range t.Participants {
				tj.Participants[id] = string(s)
			}
		}
		out = append(out, tj)
	}
	return out
}

// writeJSON prints v on one line. encoding/json sorts map keys, so the
// output is deterministic.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
