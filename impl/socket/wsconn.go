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
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// wsConn is a websocket connection as this server reads and writes it, straight on the network
// connection (gorilla only does the upgrade); what the messages mean is its owner's (connOwner):
// wsTransport (the library's Engine.IO session, for sessions upgraded from polling) or wsSession
// (ours, for sessions that start on a websocket).
//
// It reads with no buffer (frameReader) and, on Linux, no goroutine while the connection is idle:
// a short-lived one reads each message when the readPoller reports data (see startReading). It
// writes:
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
// All writes go through mu (the answers to the client's pings and close frame take the same queue).
type wsConn struct {
	owner       connOwner
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

	// direct is set once the Engine.IO session writes through this connection and has flushed
	// what it held for it: from then on a broadcast frame may bypass the session (see
	// fanoutAdapter) and still keep the order of the socket's packets.
	direct atomic.Bool

	mu           sync.Mutex
	pending      [][]byte // frames (or the rest of one) waiting for the writer goroutine
	pendingBytes int
	writing      bool // a writer goroutine owns the connection's writes
	closed       bool // no more writes; the connection is closed (or will be, by the writer)
	failed       bool // a write failed: the connection is closed
}

// connOwner is what a wsConn reports to.
type connOwner interface {
	// message handles a client message (never a control frame).
	message(mt int, payload []byte)
	// readEnded runs once when reading stops: err is nil for a close (the client's close frame,
	// its end of the connection, ours).
	readEnded(err error)
	// writeFailed runs once, on a goroutine of its own, after a write failed (the connection is
	// closed).
	writeFailed(err error)
	// closeConn closes the connection.
	closeConn()
}

// maxPendingBytes bounds what a connection that does not read can make the server hold.
const maxPendingBytes = 1 << 20

// init sets the connection up for writing (non-blocking writes when nc has a descriptor).
func (c *wsConn) init(owner connOwner, nc net.Conn, idleTimeout time.Duration, maxMessage int, poller *readPoller) {
	c.owner, c.nc, c.idleTimeout, c.maxMessage, c.poller = owner, nc, idleTimeout, maxMessage, poller
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.rawWrite = c.writeFD // bound once: no closure allocated per write
		}
	}
}

// startReading reads the client's messages: on the poller's events when there is one (no
// goroutine while the connection is idle), else on a reader goroutine of its own. Either way the
// goroutine is a fresh one: the goroutine that set the connection up has grown its stack by then
// (4 KB), and a stack does not shrink back while it waits; a fresh one keeps the runtime's 2 KB
// (BenchmarkIdleSocket). Without a descriptor (TLS) there is no poller.
//
// A polled connection with nothing to read has no read waiting, so no read deadline: what
// bounds a client that goes silent is the Engine.IO heartbeat (a ping every PingInterval, the
// connection closed PingTimeout after one is unanswered: 45 s by default), stricter than the
// engine's idle timeout (120 s), which still bounds a message that has started to arrive.
func (c *wsConn) startReading() {
	if c.poller != nil && c.raw != nil {
		fd := -1
		_ = c.raw.Control(func(f uintptr) { fd = int(f) })
		if fd >= 0 {
			c.fd = fd
			c.fr = frameReader{r: c.nc, maxMessage: c.maxMessage, control: c.writeFrame}
			c.polled.Store(true) // before watch: the first event may come before it returns
			if c.poller.watch(fd, c) == nil {
				if c.isClosed() {
					c.unwatch()
				}
				return
			}
			c.polled.Store(false)
		}
	}
	go c.read()
}

// readable reads one message of a polled connection, on a goroutine of its own, then re-arms
// the poller (which reports at once a connection with more to read).
func (c *wsConn) readable() {
	if c.isClosed() || !c.reading.CompareAndSwap(false, true) {
		return
	}
	if c.idleTimeout > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.idleTimeout))
	}
	mt, payload, err := c.fr.next()
	if err != nil {
		c.unwatch()
		c.owner.readEnded(readError(err))
		return
	}
	c.owner.message(mt, payload)
	c.reading.Store(false)
	if !c.isClosed() {
		_ = c.poller.rearm(c.fd)
	}
}

// unwatch stops the poller's reports, before the connection is closed.
func (c *wsConn) unwatch() {
	if c.polled.CompareAndSwap(true, false) {
		c.poller.forget(c.fd, c)
	}
}

// read receives the client's messages until the connection ends, straight from the connection
// (frameReader): gorilla's reader is not used after the upgrade.
func (c *wsConn) read() {
	fr := frameReader{r: c.nc, maxMessage: c.maxMessage, control: c.writeFrame}
	for {
		if c.idleTimeout > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.idleTimeout))
		}
		mt, payload, err := fr.next()
		if err != nil {
			c.owner.readEnded(readError(err))
			return
		}
		c.handle(mt, payload)
	}
}

// handle runs the owner's message on a goroutine of its own and waits for it. The reader's
// goroutine spends its life waiting for the next message; a packet's handling (the CONNECT's
// authentication, the room joins) has deep call stacks, which would stay with the reader's stack
// while it waits. Clients send two or three messages a minute (CONNECT, pongs): the goroutine
// costs little.
func (c *wsConn) handle(mt int, payload []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.owner.message(mt, payload)
	}()
	<-done
}

// readError is the error a read ended with: nil for a close (the client's close frame, its end
// of the connection, ours), else the error.
func readError(err error) error {
	if errors.Is(err, errPeerClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// messageBuffer is a client message as the engine's parser takes it.
func messageBuffer(mt int, payload []byte) types.BufferInterface {
	if mt == ws.BinaryMessage {
		return types.NewBytesBuffer(payload)
	}
	return types.NewStringBuffer(payload)
}

// writeFrame writes frame (never modified, it may be shared) after every frame written before,
// at once if nothing is queued.
func (c *wsConn) writeFrame(frame []byte) { c.queueFrame(frame, true) }

// queueFrame writes frame after every frame written before: at once when inline is set and
// nothing is queued, else from the writer goroutine.
func (c *wsConn) queueFrame(frame []byte, inline bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if inline && !c.writing && c.raw != nil {
		n, err := c.tryWrite(frame)
		if err != nil {
			c.mu.Unlock()
			c.fail(err)
			return
		}
		if n == len(frame) {
			c.mu.Unlock()
			return
		}
		frame = frame[n:]
	}
	if c.pendingBytes+len(frame) > maxPendingBytes {
		c.mu.Unlock()
		c.fail(errSlowReader)
		return
	}
	c.pending = append(c.pending, frame)
	c.pendingBytes += len(frame)
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
	c.mu.Unlock()
}

var errSlowReader = errors.New("client does not read: write queue full")

// tryWrite writes what the socket's send buffer takes now, without waiting. Called with mu held
// (the write's state lives in the connection: no closure allocated per write).
func (c *wsConn) tryWrite(b []byte) (int, error) {
	c.tw = tryWriteState{b: b}
	err := c.raw.Write(c.rawWrite)
	n, werr := c.tw.n, c.tw.err
	c.tw = tryWriteState{}
	if werr == nil {
		werr = err
	}
	return n, werr
}

// tryWriteState is tryWrite's state between it and writeFD.
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
func (c *wsConn) writeFD(fd uintptr) bool {
	t := &c.tw
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
func (c *wsConn) writeLoop() {
	for {
		c.mu.Lock()
		batch := c.pending
		c.pending, c.pendingBytes = nil, 0
		if len(batch) == 0 {
			c.writing = false
			closed := c.closed
			c.mu.Unlock()
			if closed {
				c.owner.closeConn()
			}
			return
		}
		c.mu.Unlock()
		for _, b := range batch {
			if _, err := c.nc.Write(b); err != nil {
				c.mu.Lock()
				c.writing = false
				c.pending, c.pendingBytes = nil, 0
				c.mu.Unlock()
				c.fail(err)
				return
			}
		}
	}
}

// fail ends the connection after a write error: closed at once, the error reported on another
// goroutine (the caller may be the engine socket's flush).
func (c *wsConn) fail(err error) {
	c.mu.Lock()
	if c.failed {
		c.mu.Unlock()
		return
	}
	c.failed = true
	c.mu.Unlock()
	c.unwatch()
	_ = c.nc.Close()
	go c.owner.writeFailed(err)
}

func (c *wsConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// shut stops the writes: the connection is closed now, or by the writer goroutine once it has
// written what is queued (at most a second more).
func (c *wsConn) shut() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	writing := c.writing
	c.mu.Unlock()
	c.unwatch()
	if writing {
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		return
	}
	c.owner.closeConn()
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
