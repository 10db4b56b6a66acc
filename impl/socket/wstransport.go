package socket

import (
	ws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// wsTransport is the Engine.IO websocket transport of this server, in place of the library's
// (registered through the engine options' transport set, the library's extension point; see
// Server), for the sessions the library's engine holds: those upgraded from polling (the sessions
// that start on a websocket are wsSession's). It reads and writes the connection itself (wsConn).
type wsTransport struct {
	transports.Transport
	wsConn

	conn *types.WebSocketConn
}

// wsBuilder is the transports.TransportCtor of wsTransport.
type wsBuilder struct {
	maxMessage int         // the longest client message read (the engine's MaxHttpBufferSize)
	poller     *readPoller // nil: a reader goroutine per connection
}

func (wsBuilder) Name() string          { return transports.WEBSOCKET }
func (wsBuilder) HandlesUpgrades() bool { return true }
func (wsBuilder) UpgradesTo() []string  { return nil }

func (b wsBuilder) New(ctx *types.HttpContext) transports.Transport {
	w := &wsTransport{Transport: transports.MakeTransport()}
	w.maxMessage, w.poller = b.maxMessage, b.poller
	w.Prototype(w)
	w.Construct(ctx)
	return w
}

func (w *wsTransport) Construct(ctx *types.HttpContext) {
	w.Transport.Construct(ctx)
	w.conn = ctx.Websocket
	w.init(w, w.conn.UnderlyingConn(), ctx.IdleTimeout, w.maxMessage, w.poller)
	// A new session (no sid) is this transport's from the start; an upgrade becomes it with the
	// client's UPGRADE packet (see OnData).
	w.direct.Store(ctx.Query().Peek("sid") == "")

	_ = w.conn.On("error", func(errs ...any) {
		err, _ := firstError(errs)
		w.OnError("websocket error", err)
	})
	_ = w.conn.Once("close", func(...any) { w.OnClose() })

	w.SetWritable(true)
	w.SetPerMessageDeflate(nil)

	transports.StartReader(w, ctx.TransportReadPermission(), w.startReading)
}

func (w *wsTransport) Name() string          { return transports.WEBSOCKET }
func (w *wsTransport) HandlesUpgrades() bool { return true }

// message hands a client message to the engine socket (wsConn's owner).
func (w *wsTransport) message(mt int, payload []byte) { w.OnData(messageBuffer(mt, payload)) }

// readEnded ends the connection after its reads ended, as gorilla's reader reported it.
func (w *wsTransport) readEnded(err error) {
	if err != nil {
		w.conn.Emit("error", err)
	}
	if !w.isClosed() {
		w.conn.Emit("close")
	}
}

// writeFailed reports a failed write to the engine socket.
func (w *wsTransport) writeFailed(err error) {
	w.OnError("websocket write", err)
	_ = w.conn.Close()
}

func (w *wsTransport) closeConn() { _ = w.conn.Close() }

// OnData decodes a packet and hands it to the engine socket. After the client's UPGRADE packet
// the engine socket has made this transport its own and flushed the packets it buffered, all
// while handling the packet: broadcasts may write directly from then on.
func (w *wsTransport) OnData(data types.BufferInterface) {
	p, _ := w.Parser().DecodePacket(data)
	w.OnPacket(p)
	if p != nil && p.Type == packet.UPGRADE {
		w.direct.Store(true)
	}
}

// Send writes the engine socket's packets, in order, each as one frame, from the writer
// goroutine: never inline. The engine's packets (open, CONNECT answers, pings) are answers to
// what a client just sent or did, and the Go Socket.IO client (github.com/zishang520/socket.io
// clients v3.0.6, Manager.onopen) subscribes to its engine's data only after it has sent its
// CONNECT: an answer that comes back before is lost and the client never connects. Written
// inline, that happened to ~1% of connects on loopback; from a goroutine, as the library's
// transport writes, to ~0.2%, the library's own rate. Broadcasts (writeDirect) are written inline.
func (w *wsTransport) Send(packets []*packet.Packet) {
	for _, p := range packets {
		if p.Options != nil {
			if f, ok := p.Options.WsPreEncodedFrame.(*sharedFrame); ok {
				w.queueFrame(f.frame, false)
				continue
			}
		}
		data, err := w.Parser().EncodePacket(p, w.SupportsBinary())
		if err != nil {
			w.OnError("websocket encode", err)
			return
		}
		w.queueFrame(dataFrame(data), false)
	}
	w.Emit("drain")
}

// dataFrame is the websocket frame of an encoded Engine.IO packet: text for a string, else binary.
func dataFrame(data types.BufferInterface) []byte {
	mt := ws.BinaryMessage
	if _, ok := data.(*types.StringBuffer); ok {
		mt = ws.TextMessage
	}
	return appendFrame(nil, mt, data.Bytes())
}

// OnClose runs when the connection ended (read error, close frame, closed by us).
func (w *wsTransport) OnClose() {
	w.shut()
	w.Transport.OnClose()
}

// DoClose closes the transport (engine socket closed, or upgrade abandoned).
func (w *wsTransport) DoClose(fn types.Callable) {
	if fn != nil {
		fn()
	}
	w.shut()
}

// sharedFrame is a websocket frame built once for every socket of a broadcast. It is also a
// types.BufferInterface (the engine's write options carry it as the WsPreEncodedFrame) for the
// sockets that get the broadcast through the engine's path.
type sharedFrame struct {
	types.BufferInterface // the payload
	frame                 []byte
}

// newTextFrame returns the text frame of payload (an encoded Engine.IO packet).
func newTextFrame(payload []byte) *sharedFrame {
	return &sharedFrame{BufferInterface: types.NewStringBuffer(payload), frame: appendFrame(nil, ws.TextMessage, payload)}
}

func firstError(args []any) (error, bool) {
	if len(args) == 0 {
		return nil, false
	}
	err, ok := args[0].(error)
	return err, ok
}
