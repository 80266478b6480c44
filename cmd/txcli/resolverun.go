package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

// resolveMemberJSON is one member in resolve's --json answer (added with
// resolving every member at once).
type resolveMemberJSON struct {
	ID        string `json:"id,omitempty"`
	Addr      string `json:"addr"`
	Reachable bool   `json:"reachable"`
	Before    string `json:"before,omitempty"` // its state when asked ("" not listed there)
	State     string `json:"state,omitempty"`  // afterwards
	Heuristic bool   `json:"heuristic"`
	Applied   bool   `json:"applied"`
	Refused   bool   `json:"refused"`
	Reason    string `json:"reason,omitempty"`
	Error     string `json:"error,omitempty"`
	Code      string `json:"code,omitempty"`
}

// memberResult is what resolving one member came to.
type memberResult struct {
	n   *nodeView
	res *wire.ResolveResult
	err error
}

// checkConfirmable refuses at once, before asking any node, a resolve
// that cannot be confirmed: no --yes and nobody at a terminal.
func (rc resolveConfig) checkConfirmable(ctx context.Context) error {
	if rc.yes {
		return nil
	}
	if in, _ := ctx.Value(stdinKey{}).(stdin); !in.tty || in.r == nil {
		return &exitErr{code: exitAborted, msg: "resolve: not confirmed: stdin is not a terminal, so pass --yes to confirm (nothing was done)"}
	}
	return nil
}

// warn says, before anything is done, what a heuristic decision risks,
// and loudly what --force overrode.
func (rc resolveConfig) warn(s streams, p resolvePlan) {
	names := make([]string, 0, len(p.targets))
	for _, n := range p.targets {
		names = append(names, n.addr)
	}
	fmt.Fprintf(s.err, "txcli: WARNING: heuristic decision: participant %s will %s transaction %s without its coordinator.\n"+
		"  If the coordinator decided otherwise, the transaction stops being atomic (heuristic damage)\n"+
		"  and nothing can undo it. Go on only if the coordinator is gone for good and you know its outcome.\n",
		strings.Join(names, ", "), rc.verb(), rc.txid)
	for _, n := range p.targets {
		state := "not listed there"
		if n.tx != nil {
			state = showState(n.tx.State)
			if d := inDoubtFor(n.st, n.tx); d != "" {
				state += " for " + d
			}
		}
		fmt.Fprintf(s.err, "  participant %s at %s: %s -> %s\n", cell(orDash(n.id)), n.addr, state, rc.verb())
	}
	for _, o := range p.overridden {
		fmt.Fprintf(s.err, "txcli: WARNING: --force overrides a safety check: %s\n", o)
	}
	for _, n := range p.missing {
		fmt.Fprintf(s.err, "txcli: WARNING: member %s at %s cannot be asked (%s): it is not resolved now and may know the outcome; run the same command again when it is back\n",
			cell(orDash(n.id)), n.addr, oneLine(errText(n.err)))
	}
}

func errText(err error) string {
	if err == nil {
		return "no answer"
	}
	return err.Error()
}

// confirm asks on a terminal (checkConfirmable ruled out the rest).
func (rc resolveConfig) confirm(ctx context.Context, s streams, p resolvePlan) error {
	if rc.yes {
		return nil
	}
	in, _ := ctx.Value(stdinKey{}).(stdin)
	names := make([]string, 0, len(p.targets))
	for _, n := range p.targets {
		names = append(names, n.addr)
	}
	fmt.Fprintf(s.err, "Type \"yes\" to %s %s on %s: ", rc.verb(), rc.txid, strings.Join(names, ", "))
	line, err := bufio.NewReader(in.r).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(s.err)
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "yes" && a != "y" {
		return &exitErr{code: exitAborted, msg: "resolve: not confirmed; nothing was done"}
	}
	return nil
}

// runResolve asks every node, decides, warns, confirms, resolves every
// target at once and prints the answers.
func runResolve(ctx context.Context, rc resolveConfig, s streams) error {
	if err := rc.checkConfirmable(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, rc.timeout)
	defer cancel()

	out := resolveJSON{ID: rc.txid, Requested: rc.verb(), Forced: rc.force}
	sv := surveyTx(ctx, rc.dial, rc.txid, rc.addrs)
	if err := rc.checkNamed(sv); err != nil {
		return rc.failed(s, out, "%v", err)
	}
	first := sv.members[0]
	out.Participant = first.id
	if first.tx != nil {
		out.State = string(first.tx.State)
	}
	p := planResolve(sv, rc.commit, rc.force, rc.only)
	if p.refuse != "" {
		out.Refused, out.Reason = true, p.refuse
		out.Members = membersJSON(sv, nil)
		if rc.json {
			if err := writeJSON(s.out, out); err != nil {
				return err
			}
		}
		return &exitErr{code: exitAborted, msg: "resolve refused: " + p.refuse + " (nothing was done)"}
	}
	if len(p.targets) == 0 {
		out.State, out.Reason = string(outcomeState(rc.commit)), fmt.Sprintf("every reachable member already has %s: nothing to do", outcomeState(rc.commit))
		out.Members = membersJSON(sv, nil)
		if rc.json {
			return writeJSON(s.out, out)
		}
		fmt.Fprintf(s.out, "%s: %s\n", rc.txid, out.Reason)
		return nil
	}
	rc.warn(s, p)
	if err := rc.confirm(ctx, s, p); err != nil {
		return err
	}

	results := rc.resolveAll(ctx, p.targets)
	out.Members = membersJSON(sv, results)
	code := exitOK
	var msgs []string
	for _, r := range results {
		switch {
		case r.err != nil:
			code = exitError
			msgs = append(msgs, rc.describeFailure(ctx, r))
		case r.res.Refused:
			code = max(code, exitAborted)
			msgs = append(msgs, fmt.Sprintf("participant %s refused: %s", cell(r.n.id), orElse(r.res.Reason, "no reason given")))
		case !rc.json && r.res.Applied:
			fmt.Fprintf(s.out, "%s on participant %s: %s (heuristic: logged, locks released)\n", rc.txid, cell(r.n.id), showState(r.res.State))
		case !rc.json:
			fmt.Fprintf(s.out, "%s on participant %s: %s; nothing done (%s)\n", rc.txid, cell(r.n.id), showState(r.res.State), oneLine(r.res.Reason))
		}
	}
	if r := results[0]; r.n == first {
		if r.res != nil {
			out.State, out.Heuristic, out.Applied, out.Refused, out.Reason = string(r.res.State), r.res.Heuristic, r.res.Applied, r.res.Refused, r.res.Reason
		}
		if re, ok := remoteError(r.err); ok {
			out.Code = string(re.Code)
		}
		if r.err != nil {
			out.Error = oneLine(rc.describeFailure(ctx, r))
		}
	}
	if rc.json {
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	}
	if code != exitOK {
		return &exitErr{code: code, msg: strings.Join(msgs, "; ")}
	}
	return nil
}

// checkNamed: at least one named node answered, and --participant names a
// participant.
func (rc resolveConfig) checkNamed(sv *survey) error {
	if rc.participant != "" && sv.coord != nil && sv.coord.given && sv.coord.addr == rc.addrs[0] {
		return fmt.Errorf("%s is %s %s, not a participant (nothing was done)", rc.participant, roleName(sv.coord.st.Role), cell(sv.coord.st.NodeID))
	}
	if len(sv.members) == 0 {
		return fmt.Errorf("no participant named: %s is the coordinator; name a participant that holds %s in doubt (nothing was done)", rc.addrs[0], rc.txid)
	}
	for _, n := range sv.members {
		if n.given && n.reachable() {
			return nil
		}
	}
	n := sv.members[0]
	return fmt.Errorf("cannot reach participant at %s: %s (nothing was done)", n.addr, oneLine(errText(n.err)))
}

// resolveAll sends the outcome to every target at once.
func (rc resolveConfig) resolveAll(ctx context.Context, targets []*nodeView) []memberResult {
	return fanOut(len(targets), func(i int) memberResult {
		res, err := rc.resolveOne(ctx, targets[i])
		if err == nil && res == nil {
			err = errors.New("empty answer")
		}
		return memberResult{targets[i], res, err}
	})
}

func (rc resolveConfig) resolveOne(ctx context.Context, n *nodeView) (*wire.ResolveResult, error) {
	c, err := connect(ctx, rc.dial, n.addr)
	if err != nil {
		return nil, &notSent{err}
	}
	defer release(c)
	if r := c.Remote(); r.Role != "" && r.Role != wire.RoleParticipant {
		return nil, &notSent{fmt.Errorf("%s is %s %s, not a participant", n.addr, roleName(r.Role), cell(r.NodeID))}
	}
	rv, ok := c.(resolver)
	if !ok {
		return nil, &notSent{errors.New("this connection cannot send resolve requests")}
	}
	return await(ctx, func(ctx context.Context) (*wire.ResolveResult, error) {
		return rv.Resolve(ctx, rc.txid, rc.commit, rc.force)
	})
}

// notSent is a failure before the request left: nothing was done there.
type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }
func (e *notSent) Unwrap() error { return e.err }

func (rc resolveConfig) describeFailure(ctx context.Context, r memberResult) string {
	var ns *notSent
	if errors.As(r.err, &ns) {
		return fmt.Sprintf("cannot reach participant at %s: %s (nothing was done there)", r.n.addr, describe(ctx, ns.err, rc.timeout))
	}
	if re, ok := remoteError(r.err); ok {
		return fmt.Sprintf("participant at %s could not handle the request: %s (nothing was done)", r.n.addr, refusal(re))
	}
	return fmt.Sprintf("no answer from participant at %s (%s): whether %s was resolved is unknown; see \"txcli --participant %s status\"",
		r.n.addr, describe(ctx, r.err, rc.timeout), rc.txid, r.n.addr)
}

// failed reports a resolve that did nothing for want of an answer: the
// message on stderr and, with --json, out on stdout. It exits 2.
func (rc resolveConfig) failed(s streams, out resolveJSON, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if rc.json {
		out.Error = oneLine(msg)
		if err := writeJSON(s.out, out); err != nil {
			return err
		}
	}
	return failf("%s", msg)
}

// membersJSON lists every surveyed member with what resolving it did.
func membersJSON(sv *survey, results []memberResult) []resolveMemberJSON {
	by := map[*nodeView]memberResult{}
	for _, r := range results {
		by[r.n] = r
	}
	out := make([]resolveMemberJSON, 0, len(sv.members))
	for _, n := range sv.members {
		m := resolveMemberJSON{ID: n.id, Addr: n.addr, Reachable: n.reachable()}
		if !n.reachable() {
			m.Error = oneLine(errText(n.err))
		}
		if n.tx != nil {
			m.Before, m.State, m.Heuristic = string(n.tx.State), string(n.tx.State), n.tx.Heuristic
		}
		if r, ok := by[n]; ok {
			if r.res != nil {
				m.State, m.Heuristic, m.Applied, m.Refused, m.Reason = string(r.res.State), r.res.Heuristic, r.res.Applied, r.res.Refused, r.res.Reason
			}
			if re, ok := remoteError(r.err); ok {
				m.Code = string(re.Code)
			}
			if r.err != nil {
				m.Error = oneLine(r.err.Error())
			}
		}
		out = append(out, m)
	}
	return out
}

// inDoubtFor says how long a participant has held a transaction in doubt,
// on its own clock ("" when it does not say).
func inDoubtFor(st *wire.Status, tx *wire.TxStatus) string {
	if st == nil || tx == nil || tx.Prepared == 0 || st.Now < tx.Prepared || !inDoubtState(tx.State) {
		return ""
	}
	return showAge(time.Duration(st.Now - tx.Prepared))
}
