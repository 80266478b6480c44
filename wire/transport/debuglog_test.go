package transport

import (
	"bufio"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/txd/txd/wire"
)

// TestMessagesLoggedAtDebug: at debug level a connection logs every message
// it sends and receives, with its type and transaction; at info, none.
func TestMessagesLoggedAtDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var buf logBuf
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		a, b := net.Pipe()
		got := make(chan wire.Message, 1)
		c := newConn(a, bufio.NewReader(a), wire.Hello{NodeID: "far"}, connConfig{handler: funcHandler(func(m wire.Message) { got <- m }), log: log})
		go c.readLoop()
		go func() { // the far end echoes one frame back
			br := bufio.NewReader(b)
			m, err := wire.ReadFrame(br, 0)
			if err != nil {
				return
			}
			f, _ := wire.AppendFrame(nil, m)
			b.Write(f)
		}()
		if err := c.Send(&wire.Vote{TxID: "TX9", From: "B", Yes: true}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("no echo")
		}
		c.Close()
		b.Close()
		c.wait()
		out := buf.String()
		sent := strings.Contains(out, `msg="wire: message sent" type=Vote tx=TX9 peer=far`)
		recv := strings.Contains(out, `msg="wire: message received" type=Vote tx=TX9 peer=far`)
		if level == slog.LevelDebug && (!sent || !recv) {
			t.Fatalf("debug log lacks the message lines:\n%s", out)
		}
		if level == slog.LevelInfo && strings.Contains(out, "wire: message") {
			t.Fatalf("info log has message lines:\n%s", out)
		}
	}
}

type funcHandler func(wire.Message)

func (f funcHandler) HandleMessage(_ *Conn, m wire.Message) { f(m) }
func (f funcHandler) HandleClose(*Conn, error)              {}
