package sim

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/txd/txd/wire"
)

// A state's fingerprint: everything its future depends on, in a canonical
// text. Two states with the same fingerprint behave alike, so the explorer
// visits one of them. The machines are dumped whole by reflection (every
// field, maps in key order), not through accessors, so that no part of
// their state (a termination round, a retransmission table) is left out
// and merged away by mistake.

// fingerprint encodes s's state; budgets are kept apart (visited.go).
func (s *Sim) fingerprint() string {
	var b strings.Builder
	d := dumper{b: &b}
	for _, id := range append([]string{CoordID}, s.ids...) {
		n := s.nodes[id]
		fmt.Fprintf(&b, "[%s up=%v]\ndurable:", id, n.up)
		d.value(reflect.ValueOf(n.log.durable))
		b.WriteString("\ntail:")
		d.value(reflect.ValueOf(n.log.buf))
		b.WriteString("\nmachine:")
		switch {
		case n.p != nil:
			d.value(reflect.ValueOf(n.p))
		case n.c != nil:
			d.value(reflect.ValueOf(n.c))
		}
		b.WriteByte('\n')
	}
	b.WriteString("net:")
	for _, k := range s.inFlightKeys() {
		b.WriteString(k)
		b.WriteByte(';')
	}
	b.WriteString("\ntimers:")
	var tms []string
	for _, tm := range s.timers {
		tms = append(tms, fmt.Sprintf("%s/%d/%s/%d", tm.node, tm.set.Kind, tm.set.TxID, tm.set.Seq))
	}
	slices.Sort(tms)
	fmt.Fprintf(&b, "%v\ncut:", tms)
	var cut []string
	for l := range s.cut {
		cut = append(cut, l[0]+">"+l[1])
	}
	slices.Sort(cut)
	fmt.Fprintf(&b, "%v\nhistory:%s", cut, s.historyKey())
	return b.String()
}

// inFlightKeys lists the messages on the network, sorted: a multiset.
func (s *Sim) inFlightKeys() []string {
	var out []string
	for _, ev := range s.queue {
		if ev.kind == evMsg {
			out = append(out, s.msgKey(ev.env))
		}
	}
	slices.Sort(out)
	return out
}

// msgKey identifies a message by every field, not only what Describe says.
// A message is never changed once sent, so its key is computed once.
func (s *Sim) msgKey(e Envelope) string {
	if k, ok := s.keys[e]; ok {
		return k
	}
	var b strings.Builder
	b.WriteString(e.From + ">" + e.To + " ")
	(&dumper{b: &b}).value(reflect.ValueOf(e.Msg))
	if s.keys == nil {
		s.keys = map[Envelope]string{}
	}
	s.keys[e] = b.String()
	return b.String()
}

// historyKey is what the checks read from the past rather than from the
// nodes: what clients were told, Finished counts, the coordinator's last
// recovery, and which votes and acks reached the coordinator
// (checkFinished).
func (s *Sim) historyKey() string {
	var h []string
	for _, r := range s.replies {
		if !r.TooOld {
			h = append(h, "reply "+r.TxID+" "+string(r.Outcome))
		}
	}
	for _, m := range s.answers {
		if r, ok := m.(*wire.StartResult); ok {
			h = append(h, "told "+r.TxID+" "+string(r.Outcome))
		}
	}
	for tx, n := range s.finished {
		h = append(h, fmt.Sprintf("finished %s %d", tx, n))
	}
	for tx, ok := range s.recovered {
		if ok {
			h = append(h, "recovered "+tx)
		}
	}
	for _, d := range s.delivered {
		if d.To != CoordID {
			continue
		}
		switch m := d.Msg.(type) {
		case *wire.Ack:
			if m.State.Final() {
				h = append(h, "acked "+m.TxID+" "+m.From)
			}
		case *wire.Vote:
			if m.Yes {
				h = append(h, "yes "+m.TxID+" "+m.From)
			}
		}
	}
	slices.Sort(h)
	return strings.Join(slices.Compact(h), ",")
}

// dumper writes a value and everything it reaches, canonically: struct
// fields in order, map entries sorted by their encoded key, pointers
// followed (a pointer met again is written as a back reference). Funcs and
// channels carry no state the explorer can compare and are skipped, as is
// a time.Location.
type dumper struct {
	b    *strings.Builder
	seen map[uintptr]int
}

var locationType = reflect.TypeOf(time.Location{})

func (d *dumper) value(v reflect.Value) {
	b := d.b
	switch v.Kind() {
	case reflect.Invalid:
		b.WriteString("nil")
	case reflect.Bool:
		fmt.Fprint(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprint(b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprint(b, v.Uint())
	case reflect.Float32, reflect.Float64:
		fmt.Fprint(b, v.Float())
	case reflect.String:
		fmt.Fprintf(b, "%q", v.String())
	case reflect.Pointer:
		d.pointer(v)
	case reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString(v.Elem().Type().String())
		d.value(v.Elem())
	case reflect.Struct:
		b.WriteByte('{')
		for i := range v.NumField() {
			if k := v.Field(i).Kind(); k == reflect.Func || k == reflect.Chan {
				continue
			}
			b.WriteString(v.Type().Field(i).Name + ":")
			d.value(v.Field(i))
			b.WriteByte(' ')
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i := range v.Len() {
			d.value(v.Index(i))
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case reflect.Map:
		d.mapValue(v)
	}
}

func (d *dumper) pointer(v reflect.Value) {
	if v.IsNil() {
		d.b.WriteString("nil")
		return
	}
	if v.Type().Elem() == locationType {
		return
	}
	if d.seen == nil {
		d.seen = map[uintptr]int{}
	}
	if i, ok := d.seen[v.Pointer()]; ok {
		fmt.Fprintf(d.b, "@%d", i)
		return
	}
	d.seen[v.Pointer()] = len(d.seen)
	d.b.WriteByte('&')
	d.value(v.Elem())
}

func (d *dumper) mapValue(v reflect.Value) {
	type entry struct {
		k string
		v reflect.Value
	}
	var es []entry
	it := v.MapRange()
	for it.Next() {
		var kb strings.Builder
		(&dumper{b: &kb}).value(it.Key())
		es = append(es, entry{kb.String(), it.Value()})
	}
	// Values in key order, so that pointers are numbered the same way
	// whatever order the map iterates in.
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	d.b.WriteByte('{')
	for _, e := range es {
		d.b.WriteString(e.k + "=")
		d.value(e.v)
		d.b.WriteByte(',')
	}
	d.b.WriteByte('}')
}
