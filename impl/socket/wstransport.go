package socket

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	ws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// wsTransport is the Engine.IO websocket transport of this server, in place of the library's
// (registered through the engine options' transport set, the library's extension point; see
// Server). It reads and writes websocket frames itself, straight to the connection (gorilla only
// does the upgrade). It reads with no buffer (frameReader) and, on Linux, no goroutine while the
// connection is idle: a short-lived one reads each message when the readPoller reports data (see
// startReading). It writes:
//
//   - a frame is written at once with one non-blocking write(2) on the caller's goroutine; only
//     when the kernel's send buffer is full does the rest wait in a queue for a writer goroutine,
//     which lives until the queue is empty (the library starts a goroutine per write burst);
//   - a broadcast's frame is built once (server frames are unmasked, so its bytes are the same for
//     every socket) and the adapter hands the same bytes to every socket (writeFrame), without
//     the per-socket packet copy, re-encoding and events of the engine's path;
//   - the connection's writes are bounded: a client that does not read gets maxPendingBytes queued
//     for it at most, then its connection is closed.
//
// All writes go through mu, gorilla's own reader and writer are never used after the upgrade (the
// answers to the client's pings and close frame take the same queue).
type wsTransport struct {
	transports.Transport

	conn        *types.WebSocketConn
	nc          net.Conn
	raw         syscall.RawConn // nil: no non-blocking write (e.g. TLS), every write waits for the writer goroutine
	rawWrite    func(fd uintptr) bool
	tw          tryWriteState // under mu
	idleTimeout time.Duration
	maxMessage  int         // the longest client message read
	poller      *readPoller // nil: a reader goroutine per connection
	fd          int         // the connection's descriptor, when polled
	fr          frameReader // when polled
	polled      atomic.Bool // the connection is watched by poller
	reading     atomic.Bool // a reader runs (polled connections)

	// direct is set once the engine socket uses this transport for its writes and has flushed what
	// it held for it: from then on a broadcast frame may bypass the engine socket (see
	// fanoutAdapter) and still keep the order of the socket's packets.
	direct atomic.Bool

	mu           sync.Mutex
	pending      [][]byte // frames (or the rest of one) waiting for the writer goroutine
	pendingBytes int
	writing      bool // a writer goroutine owns the connection's writes
	closed       bool // no more writes; the connection is closed (or will be, by the writer)
	failed       bool // a write failed: the connection is closed
}

// maxPendingBytes bounds what a connection that does not read can make the server hold.
const maxPendingBytes = 1 << 20

// wsBuilder is the transports.TransportCtor of wsTransport.
type wsBuilder struct {
	maxMessage int         // the longest client message read (the engine's MaxHttpBufferSize)
	poller     *readPoller // nil: a reader goroutine per connection
}

func (wsBuilder) Name() string          { return transports.WEBSOCKET }
func (wsBuilder) HandlesUpgrades() bool { return true }
func (wsBuilder) UpgradesTo() []string  { return nil }

func (b wsBuilder) New(ctx *types.HttpContext) transports.Transport {
	w := &wsTransport{Transport: transports.MakeTransport(), maxMessage: b.maxMessage, poller: b.poller}
	w.Prototype(w)
	w.Construct(ctx)
	return w
}

func (w *wsTransport) Construct(ctx *types.HttpContext) {
	w.Transport.Construct(ctx)
	w.idleTimeout = ctx.IdleTimeout
	w.conn = ctx.Websocket
	w.nc = w.conn.UnderlyingConn()
	if sc, ok := w.nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw = raw
			w.rawWrite = w.writeFD
		}
	}
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

// startReading reads the client's messages once the engine permits it: on the poller's events
// when there is one (no goroutine while the connection is idle), else on a reader goroutine of
// its own. Either way the goroutine is a fresh one: the goroutine that waited for the permission
// has grown its stack by then (4 KB), and a stack does not shrink back while it waits; a fresh
// one keeps the runtime's 2 KB (BenchmarkIdleSocket). Without a descriptor (TLS) there is no
// poller.
//
// A polled connection with nothing to read has no read waiting, so no read deadline: what
// bounds a client that goes silent is the engine's heartbeat (a ping every PingInterval, the
// connection closed PingTimeout after one is unanswered: 45 s by default), stricter than the
// engine's idle timeout (120 s), which still bounds a message that has started to arrive.
func (w *wsTransport) startReading() {
	if w.poller != nil && w.raw != nil {
		fd := -1
		_ = w.raw.Control(func(f uintptr) { fd = int(f) })
		if fd >= 0 {
			w.fd = fd
			w.fr = frameReader{r: w.nc, maxMessage: w.maxMessage, control: w.writeFrame}
			w.polled.Store(true) // before watch: the first event may come before it returns
			if w.poller.watch(fd, w) == nil {
				if w.isClosed() {
					w.unwatch()
				}
				return
			}
			w.polled.Store(false)
		}
	}
	go w.read()
}

// readable reads one message of a polled connection, on a goroutine of its own, then re-arms
// the poller (which reports at once a connection with more to read).
func (w *wsTransport) readable() {
	if w.isClosed() || !w.reading.CompareAndSwap(false, true) {
		return
	}
	if w.idleTimeout > 0 {
		_ = w.nc.SetReadDeadline(time.Now().Add(w.idleTimeout))
	}
	mt, payload, err := w.fr.next()
	if err != nil {
		w.unwatch()
		w.readError(err)
		if !w.isClosed() {
			w.conn.Emit("close")
		}
		return
	}
	w.OnData(messageBuffer(mt, payload))
	w.reading.Store(false)
	if !w.isClosed() {
		_ = w.poller.rearm(w.fd)
	}
}

// unwatch stops the poller's reports, before the connection is closed.
func (w *wsTransport) unwatch() {
	if w.polled.CompareAndSwap(true, false) {
		w.poller.forget(w.fd, w)
	}
}

// messageBuffer is a client message as the engine's parser takes it.
func messageBuffer(mt int, payload []byte) types.BufferInterface {
	if mt == ws.BinaryMessage {
		return types.NewBytesBuffer(payload)
	}
	return types.NewStringBuffer(payload)
}

// read receives the client's messages until the connection ends, straight from the connection
// (frameReader): gorilla's reader is not used after the upgrade.
func (w *wsTransport) read() {
	defer func() {
		if !w.isClosed() {
			w.conn.Emit("close")
		}
	}()
	fr := frameReader{r: w.nc, maxMessage: w.maxMessage, control: w.writeFrame}
	for {
		if w.idleTimeout > 0 {
			_ = w.nc.SetReadDeadline(time.Now().Add(w.idleTimeout))
		}
		mt, payload, err := fr.next()
		if err != nil {
			w.readError(err)
			return
		}
		w.handle(messageBuffer(mt, payload))
	}
}

// handle runs OnData on a goroutine of its own and waits for it. The reader's goroutine spends
// its life waiting for the next message; a packet's handling (the CONNECT's authentication, the
// room joins) has deep call stacks, which would stay with the reader's stack while it waits.
// Clients send two or three messages a minute (CONNECT, pongs): the goroutine costs little.
func (w *wsTransport) handle(data types.BufferInterface) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.OnData(data)
	}()
	<-done
}

// readError ends the connection after a read error: a close (the client's close frame, its end
// of the connection, ours) or an error (as gorilla's reader reported them).
func (w *wsTransport) readError(err error) {
	if errors.Is(err, errPeerClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		w.conn.Emit("close")
		return
	}
	w.conn.Emit("error", err)
}

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
		mt := ws.BinaryMessage
		if _, ok := data.(*types.StringBuffer); ok {
			mt = ws.TextMessage
		}
		w.queueFrame(appendFrame(nil, mt, data.Bytes()), false)
	}
	w.Emit("drain")
}

// writeFrame writes frame (never modified, it may be shared) after every frame written before,
// at once if nothing is queued.
func (w *wsTransport) writeFrame(frame []byte) { w.queueFrame(frame, true) }

// queueFrame writes frame after every frame written before: at once when inline is set and
// nothing is queued, else from the writer goroutine.
func (w *wsTransport) queueFrame(frame []byte, inline bool) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	if inline && !w.writing && w.raw != nil {
		n, err := w.tryWrite(frame)
		if err != nil {
			w.mu.Unlock()
			w.fail(err)
			return
		}
		if n == len(frame) {
			w.mu.Unlock()
			return
		}
		frame = frame[n:]
	}
	if w.pendingBytes+len(frame) > maxPendingBytes {
		w.mu.Unlock()
		w.fail(errSlowReader)
		return
	}
	w.pending = append(w.pending, frame)
	w.pendingBytes += len(frame)
	if !w.writing {
		w.writing = true
		go w.writeLoop()
	}
	w.mu.Unlock()
}

var errSlowReader = errors.New("client does not read: write queue full")

// tryWrite writes what the socket's send buffer takes now, without waiting. Called with mu held
// (the write's state lives in the transport: no closure allocated per write).
func (w *wsTransport) tryWrite(b []byte) (int, error) {
	w.tw = tryWriteState{b: b}
	err := w.raw.Write(w.rawWrite)
	n, werr := w.tw.n, w.tw.err
	w.tw = tryWriteState{}
	if werr == nil {
		werr = err
	}
	return n, werr
}

// tryWriteState is tryWrite's state between it and rawWrite.
type tryWriteState struct {
	b   []byte
	n   int
	err error
}

// writeFD is the syscall.RawConn callback of tryWrite: it returns true (done) even when the
// kernel takes nothing more, so that the caller never waits.
//
// The write is a raw system call (syscall.RawSyscall: the scheduler is not told): the socket is
// non-blocking (every connection of the net package is), so the call returns as soon as the
// kernel has taken what fits, without ever waiting. Told of it (syscall.Write), the scheduler
// marks the goroutine's processor as in a system call at each write and back after; a broadcast
// is thousands of writes in a row, during which the runtime's monitor thread polled every 20 us
// for processors to take back from system calls and took some (then the goroutine waited for one
// at the end of its write): perf of a fan-out to 2,000 sockets, the monitor thread went from 4.8%
// to 1.6% of the server's CPU and the thread switches it caused (2%) away; CPU per delivery -11%.
// A broadcast longer than 10 ms is still preempted like any running goroutine.
func (w *wsTransport) writeFD(fd uintptr) bool {
	t := &w.tw
	for t.n < len(t.b) {
		r, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&t.b[t.n])), uintptr(len(t.b)-t.n))
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return true
		case errno != 0:
			t.err = errno
			return true
		case r == 0:
			t.err = io.ErrUnexpectedEOF
			return true
		}
		t.n += int(r)
	}
	return true
}

// writeLoop writes the queued frames, waiting for the client, until the queue is empty.
func (w *wsTransport) writeLoop() {
	for {
		w.mu.Lock()
		batch := w.pending
		w.pending, w.pendingBytes = nil, 0
		if len(batch) == 0 {
			w.writing = false
			closed := w.closed
			w.mu.Unlock()
			if closed {
				_ = w.conn.Close()
			}
			return
		}
		w.mu.Unlock()
		for _, b := range batch {
			if _, err := w.nc.Write(b); err != nil {
				w.mu.Lock()
				w.writing = false
				w.pending, w.pendingBytes = nil, 0
				w.mu.Unlock()
				w.fail(err)
				return
			}
		}
	}
}

// fail ends the connection after a write error: closed at once, the error reported on another
// goroutine (the caller may be the engine socket's flush).
func (w *wsTransport) fail(err error) {
	w.mu.Lock()
	if w.failed {
		w.mu.Unlock()
		return
	}
	w.failed = true
	w.mu.Unlock()
	w.unwatch()
	_ = w.nc.Close()
	go func() {
		w.OnError("websocket write", err)
		_ = w.conn.Close()
	}()
}

func (w *wsTransport) isClosed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

// shut stops the writes: the connection is closed now, or by the writer goroutine once it has
// written what is queued (at most a second more).
func (w *wsTransport) shut() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	writing := w.writing
	w.mu.Unlock()
	w.unwatch()
	if writing {
		_ = w.nc.SetWriteDeadline(time.Now().Add(time.Second))
		return
	}
	_ = w.conn.Close()
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

// appendFrame appends a final, unmasked (server to client) websocket frame of type mt.
func appendFrame(dst []byte, mt int, payload []byte) []byte {
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, 0x80|byte(mt), byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|byte(mt), 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|byte(mt), 127,
			byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, payload...)
}

func firstError(args []any) (error, bool) {
	if len(args) == 0 {
		return nil, false
	}
	err, ok := args[0].(error)
	return err, ok
}
