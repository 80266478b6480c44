package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/txd/txd/actors/protocol"
	"github.com/txd/txd/wire"
)

// Transcripts: testdata/*.txt are scenarios written as commands, each
// followed by the events the machines took in and the effects they gave
// out, as the simulator carried them out. go test -rewrite regenerates the
// expected output; read the diff before committing it.
//
// Commands:
//
//	cluster ids=(A,B) [proto=3PC] [delay=1s] [balance=1000]
//	begin tx=TX1 [add=-100] [no=B]   every member adds to balance (or sets k=v); no: that one votes NO
//	run | step [n=N]                 deliver until quiet, or N events
//	filter drop|dup|hold type=Decision [from=TC] [to=B]; filter (nothing: deliver all)
//	release                          the held messages, oldest first
//	crash|kill|restart|sync|manual-sync|sync-then-crash node=X
//	fire node=X tx=TX1 | resend tx=TX1 | forget | advance by=2s
//	query node=A tx=TX9              A asks the coordinator about TX9
//	states tx=TX1 | log node=X | answers | check tx=TX1
func TestTranscripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var s *Sim
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "cluster" && s == nil {
				d.Fatalf(t, "no cluster yet")
			}
			if s != nil {
				s.Transcript.Reset()
			}
			out := command(t, d, &s)
			return s.Transcript.String() + out
		})
	})
}

func command(t *testing.T, d *datadriven.TestData, sp **Sim) string {
	s := *sp
	arg := func(key, def string) string {
		if !d.HasArg(key) {
			return def
		}
		var v string
		d.ScanArgs(t, key, &v)
		return v
	}
	switch d.Cmd {
	case "cluster":
		var ids []string
		for _, a := range d.CmdArgs {
			if a.Key == "ids" {
				ids = a.Vals
			}
		}
		s = New(t, ids...)
		*sp = s
		s.Transcript = &strings.Builder{}
		s.Proto = wire.Protocol(arg("proto", string(wire.TwoPC)))
		delay, err := time.ParseDuration(arg("delay", "0s"))
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		s.Cfg.Delay = delay
		for _, id := range ids {
			s.Seed(id, "balance", arg("balance", "1000"))
		}
	case "begin":
		var delta int64
		fmt.Sscan(arg("add", "-100"), &delta)
		o := opsFor(s.ids, add("balance", delta))
		if no := arg("no", ""); no != "" {
			o[no] = ops(add("balance", -1_000_000))
		}
		s.Begin(arg("tx", "TX1"), o)
	case "run":
		s.Run()
	case "step":
		var n int
		fmt.Sscan(arg("n", "1"), &n)
		for range n {
			s.Step()
		}
	case "filter":
		s.Filter = filterOf(t, d, arg)
	case "release":
		s.Release(nil, false)
	case "crash":
		s.Crash(arg("node", ""))
	case "kill":
		s.Kill(arg("node", ""))
	case "sync-then-crash":
		s.SyncThenCrash(arg("node", ""))
	case "restart":
		s.Restart(arg("node", ""))
	case "manual-sync":
		s.SetManualSync(arg("node", ""), true)
	case "sync":
		s.Sync(arg("node", ""))
	case "fire":
		s.Fire(arg("node", ""), arg("tx", "TX1"))
	case "resend":
		s.Resend(arg("tx", "TX1"))
	case "forget":
		s.FlushForget()
	case "advance":
		by, err := time.ParseDuration(arg("by", "1s"))
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		s.Advance(by)
	case "query":
		id := arg("node", "")
		tx := arg("tx", "TX1")
		s.Post(Envelope{From: id, To: CoordID, Msg: &wire.Query{TxID: tx, From: id}})
	case "states":
		return s.overview(arg("tx", "TX1"))
	case "log":
		var b strings.Builder
		for _, r := range s.Durable(arg("node", CoordID)) {
			if !strings.HasPrefix(r.TxID, "seed-") {
				fmt.Fprintf(&b, "%s %s commit=%v %s\n", r.Kind, r.TxID, r.Commit, r.Reason)
			}
		}
		return b.String()
	case "answers":
		var b strings.Builder
		for _, m := range s.ClientAnswers() {
			fmt.Fprintln(&b, protocol.Describe(m))
		}
		return b.String()
	case "check":
		s.CheckAtomic(arg("tx", "TX1"))
		s.CheckTold(arg("tx", "TX1"))
		return "ok\n"
	default:
		d.Fatalf(t, "unknown command %q", d.Cmd)
	}
	return ""
}

// overview shows tx on every node: the coordinator's view, and each
// participant's state and balance.
func (s *Sim) overview(tx string) string {
	var b strings.Builder
	if c := s.Coordinator(); c != nil && c.Txn(tx) != nil {
		fmt.Fprintf(&b, "%s: %s\n", CoordID, c.Txn(tx).Status().State)
	} else {
		fmt.Fprintf(&b, "%s: none\n", CoordID)
	}
	for _, id := range s.ids {
		if !s.Up(id) {
			fmt.Fprintf(&b, "%s: down\n", id)
			continue
		}
		fmt.Fprintf(&b, "%s: %s balance=%s locks=%v\n", id, s.final(id, tx), s.Store(id)["balance"], s.Part(id).Locked())
	}
	return b.String()
}

func filterOf(t *testing.T, d *datadriven.TestData, arg func(key, def string) string) func(Envelope) Verdict {
	if len(d.CmdArgs) == 0 {
		return nil
	}
	v := map[string]Verdict{"drop": Drop, "dup": Dup, "hold": Hold}[d.CmdArgs[0].Key]
	if v == Deliver {
		d.Fatalf(t, "filter drop|dup|hold, not %q", d.CmdArgs[0].Key)
	}
	var typ wire.Type
	for tp := wire.Type(1); tp < wire.TypeLimit; tp++ {
		if tp.String() == arg("type", "") {
			typ = tp
		}
	}
	if typ == 0 {
		d.Fatalf(t, "filter: unknown type %q", arg("type", ""))
	}
	match := Is(arg("from", ""), arg("to", ""), typ)
	return func(e Envelope) Verdict {
		if match(e) {
			return v
		}
		return Deliver
	}
}
