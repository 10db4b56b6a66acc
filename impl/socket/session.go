package socket

import (
	"encoding/json"
	"io"
	"net"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/parsers/engine/v3/parser"
	engine "github.com/zishang520/socket.io/servers/engine/v3"
	engineerrors "github.com/zishang520/socket.io/servers/engine/v3/errors"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// sessionHost opens this server's own Engine.IO sessions (wsSession) for the sessions that start
// on a websocket; the library's engine keeps the polling sessions and their upgrades.
type sessionHost struct {
	eng    engine.BaseServer
	timers *timers
	poller *readPoller // nil: a reader goroutine per connection

	pingInterval, pingTimeout, idleTimeout time.Duration
	maxMessage                             int

	pingFrame []byte               // the Engine.IO PING packet's frame, the same for every session
	transport transports.Transport // what every session's Transport returns (sessionTransport)
}

func newSessionHost(eng engine.BaseServer, ts *timers, poller *readPoller) *sessionHost {
	o := eng.Opts()
	st := &sessionTransport{Transport: transports.MakeTransport()}
	st.SetWritable(true)
	return &sessionHost{eng: eng, timers: ts, poller: poller,
		pingInterval: o.PingInterval(), pingTimeout: o.PingTimeout(), idleTimeout: o.IdleTimeout(),
		maxMessage: int(o.MaxHttpBufferSize()),
		pingFrame:  appendFrame(nil, ws.TextMessage, []byte{'2'}), transport: st}
}

// sessionTransport is what a wsSession reports as its transport (engine.Socket.Transport): a
// websocket, always writable. The session does not use it: it reads and writes its connection
// itself. One for the process.
type sessionTransport struct {
	transports.Transport
}

func (*sessionTransport) Name() string          { return transports.WEBSOCKET }
func (*sessionTransport) HandlesUpgrades() bool { return true }

// open starts the session of a websocket handshake (EIO=4) the engine's checks accepted: the
// OPEN packet, the engine's "connection" event (which gives it to the Socket.IO server), the
// heartbeat, and the reads. It reports false when the session ended before it was open.
func (h *sessionHost) open(ctx *types.HttpContext, nc net.Conn) bool {
	id := h.eng.Proto().GenerateId(ctx)
	s := &wsSession{host: h, id: id, remote: nc.RemoteAddr().String()}
	s.init(s, nc, h.idleTimeout, h.maxMessage, h.poller)
	s.direct.Store(true) // no upgrade: frames may be written directly from the start
	s.ctx.Store(ctx)
	s.beat = timer{i: -1, f: s.heartbeat}
	s.state.Store(stateOpen)
	handshake, err := json.Marshal(map[string]any{
		"sid":          id,
		"upgrades":     []string{},
		"pingInterval": h.pingInterval.Milliseconds(),
		"pingTimeout":  h.pingTimeout.Milliseconds(),
		"maxPayload":   h.maxMessage,
	})
	if err != nil {
		return false
	}
	// From the writer goroutine, like every answer (see wsTransport.Send).
	s.queueFrame(appendFrame(nil, ws.TextMessage, append([]byte{'0'}, handshake...)), false)
	// In the engine's table: its Close closes the session, and a request that names the session's
	// id is refused (a polling request: transport mismatch; a websocket: already upgraded).
	h.eng.Clients().Store(id, s)
	h.eng.Emit("connection", s)
	s.hbMu.Lock() // a close from now on stops the timer (onClose)
	open := s.state.Load() == stateOpen
	if open {
		h.timers.schedule(&s.beat, h.pingInterval)
	}
	s.hbMu.Unlock()
	if !open {
		return false
	}
	s.startReading()
	return true
}

// wsSession is an Engine.IO session of this server on a websocket, from its handshake (engine.Socket,
// handed to the Socket.IO server as the engine's sessions are). It holds what an idle socket needs:
// its connection (wsConn: no goroutine while idle), its listeners (the Socket.IO client's and the
// guard's, emitter), a heartbeat timer in the process's timers (no goroutine), and its handshake
// request only until its Socket.IO socket connected (the socket keeps its own copy of what it
// exposes: the kept headers, the query, the address).
//
// The protocol is Engine.IO v4 on a websocket: the server sends PING every pingInterval, and
// closes the session ("ping timeout") when the client's PONG has not come pingTimeout after; a
// client PING, or a packet that does not decode, closes it too.
type wsSession struct {
	wsConn
	emitter

	host   *sessionHost
	id     string
	remote string
	ctx    atomic.Pointer[types.HttpContext] // the handshake request; nil once the socket connected
	state  atomic.Int32

	hbMu         sync.Mutex // the heartbeat: awaitingPong and beat's scheduling
	awaitingPong bool
	beat         timer
}

const (
	stateOpen int32 = iota + 1
	stateClosed
)

var _ engine.Socket = (*wsSession)(nil)

func (s *wsSession) Protocol() int                   { return 4 }
func (s *wsSession) Request() *types.HttpContext     { return s.ctx.Load() }
func (s *wsSession) RemoteAddress() string           { return s.remote }
func (s *wsSession) Transport() transports.Transport { return s.host.transport }
func (s *wsSession) Id() string                      { return s.id }
func (s *wsSession) Upgraded() bool                  { return true } // the engine refuses an upgrade of it
func (s *wsSession) Upgrading() bool                 { return false }

func (s *wsSession) ReadyState() string {
	if s.state.Load() == stateOpen {
		return "open"
	}
	return "closed"
}

// SetReadyState is part of engine.Socket; nothing calls it on a session that is not the engine's.
func (s *wsSession) SetReadyState(state string) {
	if state == "closed" || state == "closing" {
		s.state.Store(stateClosed)
	}
}

// Construct is part of engine.Socket; a session is built by sessionHost.open.
func (s *wsSession) Construct(string, engine.BaseServer, transports.Transport, *types.HttpContext, int) {
}

// MaybeUpgrade refuses every upgrade: a websocket session has nothing to upgrade to.
func (s *wsSession) MaybeUpgrade(t transports.Transport) { t.Close() }

// connected drops the handshake request once the session's Socket.IO socket has connected: the
// socket keeps its handshake's copy of it.
func (s *wsSession) connected() { s.ctx.Store(nil) }

// Send writes a MESSAGE packet (an encoded Socket.IO packet), after every packet written before.
func (s *wsSession) Send(data io.Reader, opts *packet.Options, fn engine.SendCallback) engine.Socket {
	return s.Write(data, opts, fn)
}

// Write writes a MESSAGE packet, from the writer goroutine (see wsTransport.Send).
func (s *wsSession) Write(data io.Reader, opts *packet.Options, fn engine.SendCallback) engine.Socket {
	if s.state.Load() != stateOpen {
		return s
	}
	var frame *sharedFrame
	if opts != nil {
		frame, _ = opts.WsPreEncodedFrame.(*sharedFrame)
	}
	if frame != nil {
		s.queueFrame(frame.frame, false)
	} else {
		b, err := parser.Parserv4().EncodePacket(&packet.Packet{Type: packet.MESSAGE, Data: data}, true)
		if err != nil {
			go s.onClose("transport error", err) // not under the caller's locks
			return s
		}
		s.queueFrame(dataFrame(b), false)
	}
	if fn != nil {
		fn(s.host.transport)
	}
	return s
}

// Close closes the session: what is queued is written first (for a second at most).
func (s *wsSession) Close(bool) { s.onClose("forced close", nil) }

// message handles a client message (wsConn's owner).
func (s *wsSession) message(mt int, payload []byte) {
	if s.state.Load() != stateOpen {
		return
	}
	if s.ctx.Load() == nil && isConnect(mt, payload) {
		// A socket connected on the session, which then dropped its handshake request: a new
		// socket would be built from it (the library's handshake reads it). One socket per
		// session; this CONNECT comes after the server disconnected the first (its token expired,
		// revoked), while its DISCONNECT packet was on its way.
		s.onClose("forced close", nil)
		return
	}
	p, err := parser.Parserv4().DecodePacket(messageBuffer(mt, payload))
	if err != nil || p == nil {
		s.onClose("parse error", nil)
		return
	}
	switch p.Type {
	case packet.PONG:
		s.pong()
	case packet.PING: // Engine.IO v4: only the server pings
		s.onClose("transport error", engineerrors.ErrInvalidHeartbeat)
	case packet.ERROR:
		s.onClose("parse error", nil)
	case packet.MESSAGE:
		s.Emit("data", p.Data)
	}
}

// isConnect reports whether a client message is a Socket.IO CONNECT (an Engine.IO MESSAGE, '4',
// of a Socket.IO CONNECT, '0').
func isConnect(mt int, payload []byte) bool {
	return mt == ws.TextMessage && len(payload) >= 2 && payload[0] == '4' && payload[1] == '0'
}

func (s *wsSession) readEnded(err error) {
	if err != nil {
		s.onClose("transport error", err)
		return
	}
	s.onClose("transport close", nil)
}

func (s *wsSession) writeFailed(err error) { s.onClose("transport error", err) }

func (s *wsSession) closeConn() { _ = s.nc.Close() }

// heartbeat is the session's timer: it sends a PING, or closes the session when the PONG of the
// last one has not come. It runs on the timers goroutine: nothing in it waits.
func (s *wsSession) heartbeat() {
	s.hbMu.Lock()
	defer s.hbMu.Unlock()
	if s.state.Load() != stateOpen || s.host.timers.scheduled(&s.beat) { // closed, or a PONG came meanwhile
		return
	}
	if s.awaitingPong {
		go s.onClose("ping timeout", nil)
		return
	}
	s.awaitingPong = true
	s.writeFrame(s.host.pingFrame)
	s.host.timers.schedule(&s.beat, s.host.pingTimeout)
}

// pong takes the client's PONG: the next PING pingInterval from now.
func (s *wsSession) pong() {
	s.hbMu.Lock()
	defer s.hbMu.Unlock()
	if s.state.Load() != stateOpen {
		return
	}
	s.awaitingPong = false
	s.host.timers.schedule(&s.beat, s.host.pingInterval)
}

// onClose ends the session once: its timer, its connection (after what is queued), its entry in
// the engine's table, then its "close" event (reason, and the error or nil), as the engine's.
func (s *wsSession) onClose(reason string, err error) {
	if s.state.Swap(stateClosed) == stateClosed {
		return
	}
	s.hbMu.Lock()
	s.host.timers.stop(&s.beat)
	s.hbMu.Unlock()
	s.shut()
	s.host.eng.Clients().CompareAndDelete(s.id, s)
	s.ctx.Store(nil)
	s.Emit("close", reason, err)
}

// emitter is a types.EventEmitter for the few listeners a session has (the Socket.IO client's
// "data", "error" and "close", the guard's "close"): a slice, where the library's emitter is a
// map of slices with an entry object per listener (~1.5 KB per session). Listeners are told
// apart as the library's emitter does (RemoveListener): by their code pointer.
type emitter struct {
	mu        sync.Mutex
	listeners []listener
}

type listener struct {
	event types.EventName
	fn    types.EventListener
	ptr   uintptr
	once  bool
}

func (e *emitter) add(event types.EventName, once bool, fns []types.EventListener) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, fn := range fns {
		if fn != nil {
			e.listeners = append(e.listeners, listener{event: event, fn: fn, ptr: reflect.ValueOf(fn).Pointer(), once: once})
		}
	}
	return nil
}

func (e *emitter) AddListener(event types.EventName, fns ...types.EventListener) error {
	return e.add(event, false, fns)
}

func (e *emitter) On(event types.EventName, fns ...types.EventListener) error {
	return e.add(event, false, fns)
}

func (e *emitter) Once(event types.EventName, fns ...types.EventListener) error {
	return e.add(event, true, fns)
}

// Emit calls event's listeners in their order, outside the lock; a once listener is removed first.
func (e *emitter) Emit(event types.EventName, args ...any) {
	var fns [4]types.EventListener
	call := fns[:0]
	e.mu.Lock()
	e.listeners = slices.DeleteFunc(e.listeners, func(l listener) bool {
		if l.event != event {
			return false
		}
		call = append(call, l.fn)
		return l.once
	})
	e.mu.Unlock()
	for _, fn := range call {
		fn(args...)
	}
}

func (e *emitter) EventNames() []types.EventName {
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []types.EventName
	for _, l := range e.listeners {
		if !slices.Contains(names, l.event) {
			names = append(names, l.event)
		}
	}
	return names
}

func (e *emitter) ListenerCount(event types.EventName) int {
	return len(e.Listeners(event))
}

func (e *emitter) Listeners(event types.EventName) []types.EventListener {
	e.mu.Lock()
	defer e.mu.Unlock()
	var fns []types.EventListener
	for _, l := range e.listeners {
		if l.event == event {
			fns = append(fns, l.fn)
		}
	}
	return fns
}

func (e *emitter) RemoveAllListeners(event types.EventName) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.listeners)
	e.listeners = slices.DeleteFunc(e.listeners, func(l listener) bool { return l.event == event })
	return len(e.listeners) < n
}

// RemoveListener removes the first listener of event with fn's code.
func (e *emitter) RemoveListener(event types.EventName, fn types.EventListener) bool {
	ptr := reflect.ValueOf(fn).Pointer()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, l := range e.listeners {
		if l.event == event && l.ptr == ptr {
			e.listeners = slices.Delete(e.listeners, i, i+1)
			return true
		}
	}
	return false
}

func (e *emitter) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listeners = nil
}

func (e *emitter) Len() int {
	return len(e.EventNames())
}
