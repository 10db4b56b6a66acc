package socket

import (
	"log/slog"
	"sync/atomic"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	engine "github.com/zishang520/socket.io/servers/engine/v3"
)

// boundQueue bounds what the library's engine session conn (long-polling, and the sessions
// upgraded from it) can make the server hold for a client that does not read. Such a session
// keeps the packets sent to it until the client's next poll, and a client can keep its session
// alive without ever polling (a PONG needs no PING: the engine takes it as a heartbeat), so every
// event sent to it would pile up for as long as it liked. When the packets waiting for the client
// exceed maxPendingBytes, the same bound as our websocket connections', the session is closed;
// a client that polls takes them all at each poll and is never near it.
func boundQueue(conn engine.Socket, log *slog.Logger) {
	var queued atomic.Int64
	var cut atomic.Bool
	_ = conn.On("packetCreate", func(args ...any) {
		p, _ := args[0].(*packet.Packet)
		if n := queued.Add(packetBytes(p)); n > maxPendingBytes && cut.CompareAndSwap(false, true) {
			log.Info("socket session closed", "reason", "client not reading", "queued_bytes", n,
				"transport", conn.Transport().Name(), "remote", conn.RemoteAddress())
			go conn.Close(true) // not from inside the engine's send
		}
	})
	_ = conn.On("flush", func(args ...any) {
		sent, _ := args[0].([]*packet.Packet)
		var n int64
		for _, p := range sent {
			n += packetBytes(p)
		}
		queued.Add(-n)
	})
}

// packetBytes is what packet p holds: its data, plus a packet's type and separator.
func packetBytes(p *packet.Packet) int64 {
	if p == nil {
		return 0
	}
	n := int64(2)
	if d, ok := p.Data.(interface{ Len() int }); ok {
		n += int64(d.Len())
	}
	return n
}
