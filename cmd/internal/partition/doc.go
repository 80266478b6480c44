// Package partition cuts and heals the links between txd nodes running as
// real processes on one machine, without root: a loopback TCP proxy in
// front of every node, controlled by the test.
//
// Every node is reachable by the others only through its Proxy: the
// coordinator's --participants name the participants' proxies, its
// --advertise names its own proxy, and so the member addresses a PREPARE
// carries (which participants dial to ask one another) are proxies too.
// One proxy listener per target is shared by every dialer, so a proxy
// learns who is dialing from the txd handshake: the first frame of every
// connection is a wire.Hello carrying the dialer's node id. The proxy reads
// that frame, remembers the id, and forwards the bytes unchanged. A
// connection whose first bytes are not a Hello (TLS, a foreign client) is
// forwarded without an identity and no cut applies to it.
//
// A link is directed: Cut(A, B) stops the bytes going from A to B, on
// every connection between them whichever side dialed (txd answers on the
// connection a message came in on), and leaves B to A alone.
//
// A cut black-holes, it does not reset: the proxy stops forwarding that
// direction and holds what it has read, the connections stay open, and the
// kernel buffers fill up behind the hold as they would behind a dead
// router. Nothing is lost or reordered: on Heal the held bytes, and a close
// that came meanwhile, are delivered in order, as TCP retransmission
// delivers them after a partition shorter than its timeout. A reset would
// be easier to see but is not what a partition does: the peers would learn
// at once that the other side is gone, which a partition never tells them,
// and txd's own timeouts (the vote wait, a participant's --timeout) are
// what must notice. Dropping bytes while keeping the connection would cut
// frames in half and feed the receiver garbage.
//
// A new connection whose dialer is cut from the target is held the same
// way: its Hello is read (to learn who dials) but the target is not dialed
// until the link heals, so the dialer sees a handshake that never answers,
// as behind a black-holed SYN.
package partition
