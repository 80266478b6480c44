package main

// The torture test's nemesis: its schedule of epochs (mixed; without 3PC,
// with pauses and partitions) and of random faults (kills of one, two or
// every node, kills during recovery, pauses, partitions).

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/txd/txd/cmd/internal/cluster"
	"github.com/txd/txd/wire"
)

// nemesis kills, restarts and pauses nodes until stop is closed. Every
// action ends with every node running and none paused. In the default mode
// it also switches epochs: "mixed" (2PC, 3PC and PARALLEL; kills only) and
// "2PC+PARALLEL" (no 3PC; kills, pauses and, if the cluster is proxied,
// partitions).
func (tt *torture) nemesis(stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(tt.o.seed, 1<<32))
	pausing := tt.o.pauses3PC
	epochEnd := time.Now().Add(tortureEpoch(rng))
	tt.countEpoch("mixed")
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(100+rng.IntN(400)) * time.Millisecond):
		}
		if !tt.o.pauses3PC && time.Now().After(epochEnd) {
			if pausing {
				tt.setAllow3PC(true)
				pausing = false
				tt.countEpoch("mixed")
			} else {
				tt.setAllow3PC(false)
				pausing = tt.drain3PC(stop)
				tt.countEpoch("2PC+PARALLEL")
			}
			epochEnd = time.Now().Add(tortureEpoch(rng))
		}
		tt.act(rng, pausing)
		tt.ensureUp()
		if tt.brokenHarness() {
			return
		}
	}
}

func tortureEpoch(rng *rand.Rand) time.Duration {
	return time.Duration(3000+rng.IntN(3000)) * time.Millisecond
}

func (tt *torture) countEpoch(kind string) {
	tt.nmu.Lock()
	tt.epochs++
	tt.nmu.Unlock()
	tt.note("epoch %s begins", kind)
}

func (tt *torture) setAllow3PC(v bool) {
	tt.modeMu.Lock()
	tt.allow3PC = v
	tt.modeMu.Unlock()
}

// drain3PC waits, with every node up and unpaused, until no 3PC
// transaction is in flight at a client or in doubt on any node, so that
// the pauses to come cannot touch one. It reports whether pausing is safe.
func (tt *torture) drain3PC(stop <-chan struct{}) bool {
	begun := time.Now()
	var last error
	for time.Since(begun) < tortureHealBound {
		select {
		case <-stop:
			return false
		default:
		}
		if n := tt.inflight3PC.Load(); n > 0 {
			last = fmt.Errorf("%d 3PC transactions in flight at clients", n)
		} else if last = tt.inDoubt(wire.ThreePC); last == nil {
			tt.nmu.Lock()
			tt.drainWaits = append(tt.drainWaits, time.Since(begun))
			tt.nmu.Unlock()
			tt.note("3PC drained in %v", time.Since(begun).Round(time.Millisecond))
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	msg := fmt.Sprintf("at %s, with every node up and nothing paused for %v: %v", clock(time.Now()), tortureHealBound, last)
	tt.note("3PC NOT DRAINED: %v", last)
	tt.nmu.Lock()
	tt.stuck = append(tt.stuck, msg)
	tt.nmu.Unlock()
	return false
}

// act carries out one random action.
func (tt *torture) act(rng *rand.Rand, pausing bool) {
	nodes := tt.nodes
	pick := func() *cluster.Node { return nodes[rng.IntN(len(nodes))] }
	two := func() (*cluster.Node, *cluster.Node) {
		i := rng.IntN(len(nodes))
		j := (i + 1 + rng.IntN(len(nodes)-1)) % len(nodes)
		return nodes[i], nodes[j]
	}
	down := func() time.Duration { return time.Duration(rng.IntN(400)) * time.Millisecond }
	r := rng.IntN(100)
	pauseShare := 35
	if tt.o.pauses3PC {
		pauseShare = 60 // the point of that mode
	}
	if pausing && r < pauseShare {
		// Pause one node (or two: in the 3PC mode, often the coordinator
		// and a participant, the case in which 3PC's participants decide
		// without the coordinator), longer than the timeouts; sometimes
		// kill another meanwhile.
		paused := []*cluster.Node{pick()}
		switch {
		case tt.o.pauses3PC && rng.IntN(3) == 0:
			paused = []*cluster.Node{nodes[0], nodes[1+rng.IntN(len(nodes)-1)]}
		case rng.IntN(4) == 0:
			a, b := two()
			paused = []*cluster.Node{a, b}
		}
		d := torturePauseMin + time.Duration(rng.Int64N(int64(torturePauseMax-torturePauseMin)))
		for _, n := range paused {
			tt.pause(n)
		}
		var victim *cluster.Node
		if rng.IntN(3) == 0 {
			if v := pick(); !slices.Contains(paused, v) {
				victim = v
				time.Sleep(d / 3)
				tt.kill(victim)
				d -= d / 3
			}
		}
		time.Sleep(d)
		for _, n := range paused {
			tt.resume(n)
		}
		if victim != nil {
			tt.restart(victim)
		}
		return
	}
	if pausing && tt.o.partitions && rng.IntN(100) < 30 {
		tt.partition(rng)
		return
	}
	r = rng.IntN(100)
	switch {
	case r < 55:
		// One node (the coordinator a quarter of the time).
		n := pick()
		tt.kill(n)
		time.Sleep(down())
		tt.restart(n)
	case r < 80:
		// Two at once, back in either order.
		a, b := two()
		tt.kill(a)
		tt.kill(b)
		time.Sleep(down())
		if rng.IntN(2) == 0 {
			a, b = b, a
		}
		tt.restart(a)
		time.Sleep(down() / 4)
		tt.restart(b)
	case r < 90:
		// Killed again while it recovers its log.
		n := pick()
		tt.kill(n)
		if err := n.Launch(); err != nil {
			tt.infraFailure("relaunching %s: %v", n.ID, err)
			return
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		tt.kill(n)
		tt.nmu.Lock()
		tt.recKills++
		tt.nmu.Unlock()
		time.Sleep(down() / 4)
		tt.restart(n)
	default:
		// Every node at once.
		for _, n := range nodes {
			tt.kill(n)
		}
		time.Sleep(down())
		for _, i := range rng.Perm(len(nodes)) {
			tt.restart(nodes[i])
		}
	}
}

// partition cuts the network for as long as a pause lasts: one node
// isolated (both ways), the nodes split in two groups, or one direction of
// one link; then every link heals. Only in the epochs without 3PC: 3PC is
// not safe under partitions; 2PC and PARALLEL wait for the network.
func (tt *torture) partition(rng *rand.Rand) {
	ids := make([]string, len(tt.nodes))
	for i, n := range tt.nodes {
		ids[i] = n.ID
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	var what string
	switch r := rng.IntN(3); r {
	case 0:
		tt.c.Partition(ids[:1], ids[1:])
		what = fmt.Sprintf("%s isolated", ids[0])
	case 1:
		k := 1 + rng.IntN(len(ids)-1)
		tt.c.Partition(ids[:k], ids[k:])
		what = fmt.Sprintf("%v | %v", ids[:k], ids[k:])
	default:
		tt.c.Cut(ids[0], ids[1])
		what = fmt.Sprintf("%s -> %s cut", ids[0], ids[1])
	}
	tt.nmu.Lock()
	tt.partitions++
	tt.nmu.Unlock()
	tt.note("partition: %s", what)
	time.Sleep(torturePauseMin + time.Duration(rng.Int64N(int64(torturePauseMax-torturePauseMin))))
	tt.healNet()
}

// healNet heals every link, if the cluster is proxied.
func (tt *torture) healNet() {
	if tt.o.partitions {
		tt.c.HealAll()
		tt.note("network healed")
	}
}
