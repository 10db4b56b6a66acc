package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// A minimal Socket.IO v5 client over the Engine.IO v4 websocket transport: enough to authenticate, answer pings
// and receive events, with small buffers so that 10,000 sockets fit in one process. Over websocket each frame
// carries one Engine.IO packet: a type digit and its data.

// Engine.IO packet types.
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = '3'
	eioMessage = '4'
)

// Socket.IO packet types (first byte of an Engine.IO message's data).
const (
	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioConnectError = '4'
)

// errUnauthorized is the connect error the contract mandates for a missing, invalid or expired token.
var errUnauthorized = errors.New("socket.io connect_error: unauthorized")

var pongPacket = []byte{eioPong}

// sioDialer opens Socket.IO connections to one server.
type sioDialer struct {
	ws  websocket.Dialer
	url string
}

// newSIODialer returns a dialer for the server at base (http or https URL).
func newSIODialer(base string) (*sioDialer, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	u.Path, u.RawQuery = "/socket.io/", "EIO=4&transport=websocket"
	return &sioDialer{
		ws: websocket.Dialer{
			ReadBufferSize:   512,
			WriteBufferSize:  512,
			WriteBufferPool:  &sync.Pool{},
			HandshakeTimeout: 30 * time.Second,
			NetDialContext:   (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		},
		url: u.String(),
	}, nil
}

// sioConn is one authenticated Socket.IO connection. Only its serve loop reads and writes after dial.
type sioConn struct {
	ws  *websocket.Conn
	buf []byte
}

// dial opens a websocket, reads the Engine.IO open packet and connects to the main namespace with auth {token}.
// It returns errUnauthorized if the server answers connect_error "unauthorized".
func (d *sioDialer) dial(ctx context.Context, token string) (*sioConn, error) {
	ws, resp, err := d.ws.DialContext(ctx, d.url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket handshake: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	c := &sioConn{ws: ws, buf: make([]byte, 0, 256)}
	if err := c.handshake(ctx, token); err != nil {
		ws.Close()
		return nil, err
	}
	return c, nil
}

func (c *sioConn) handshake(ctx context.Context, token string) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.ws.SetReadDeadline(dl)
		defer c.ws.SetReadDeadline(time.Time{})
	}
	msg, err := c.read()
	if err != nil {
		return fmt.Errorf("engine.io open: %w", err)
	}
	if len(msg) == 0 || msg[0] != eioOpen {
		return fmt.Errorf("engine.io open: unexpected packet %q", msg)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, connectPacket(token)); err != nil {
		return fmt.Errorf("socket.io connect: %w", err)
	}
	for {
		msg, err := c.read()
		if err != nil {
			return fmt.Errorf("socket.io connect: %w", err)
		}
		switch typ, data := packetType(msg); typ {
		case eioPing:
			if err := c.ws.WriteMessage(websocket.TextMessage, pongPacket); err != nil {
				return err
			}
		case eioMessage:
			if len(data) == 0 {
				continue
			}
			switch data[0] {
			case sioConnect:
				return nil
			case sioConnectError:
				if m := connectErrorMessage(data[1:]); m == "unauthorized" {
					return errUnauthorized
				} else {
					return fmt.Errorf("socket.io connect_error %q", m)
				}
			}
		case eioClose:
			return errors.New("socket.io connect: engine.io close")
		}
	}
}

// connectPacket returns the Engine.IO message that connects to the main namespace with auth {token}.
func connectPacket(token string) []byte {
	auth, _ := json.Marshal(struct {
		Token string `json:"token"`
	}{token})
	return append([]byte{eioMessage, sioConnect}, auth...)
}

// packetType splits an Engine.IO packet into its type and data (type 0 for an empty packet).
func packetType(msg []byte) (byte, []byte) {
	if len(msg) == 0 {
		return 0, nil
	}
	return msg[0], msg[1:]
}

// connectErrorMessage returns the message of a CONNECT_ERROR packet's data ({"message": ...}), or the raw data.
func connectErrorMessage(data []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return e.Message
	}
	return string(data)
}

// read returns the next websocket message in c's buffer, valid until the next read.
func (c *sioConn) read() ([]byte, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	c.buf = c.buf[:0]
	for {
		if len(c.buf) == cap(c.buf) {
			c.buf = append(c.buf, 0)[:len(c.buf)]
		}
		n, err := r.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF {
			return c.buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// errServerClosed reports that the server ended the session (Engine.IO close or Socket.IO disconnect).
var errServerClosed = errors.New("server closed the session")

// serve reads until the connection fails or the server closes the session, answers pings, and calls onEvent for
// each event with its name and first argument (raw JSON; both valid only during the call).
func (c *sioConn) serve(onEvent func(name, arg []byte)) error {
	for {
		msg, err := c.read()
		if err != nil {
			return err
		}
		typ, data := packetType(msg)
		switch typ {
		case eioPing:
			if err := c.ws.WriteMessage(websocket.TextMessage, pongPacket); err != nil {
				return err
			}
		case eioClose:
			return errServerClosed
		case eioMessage:
			if len(data) == 0 {
				continue
			}
			switch data[0] {
			case sioEvent:
				if name, arg, ok := parseEvent(data[1:]); ok && onEvent != nil {
					onEvent(name, arg)
				}
			case sioDisconnect:
				return errServerClosed
			}
		}
	}
}

// parseEvent parses the rest of an EVENT packet: an optional "/namespace," and ack id, then ["name", arg, ...].
// It returns the name and the first argument's raw JSON (nil if none). It does not allocate for names without
// escapes.
func parseEvent(p []byte) (name, arg []byte, ok bool) {
	if len(p) > 0 && p[0] == '/' {
		i := bytes.IndexByte(p, ',')
		if i < 0 {
			return nil, nil, false
		}
		p = p[i+1:]
	}
	for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
		p = p[1:]
	}
	p = bytes.TrimSpace(p)
	if len(p) < 4 || p[0] != '[' || p[len(p)-1] != ']' {
		return nil, nil, false
	}
	p = bytes.TrimSpace(p[1 : len(p)-1])
	if len(p) < 2 || p[0] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(p[1:], '"')
	if end < 0 {
		return nil, nil, false
	}
	name = p[1 : 1+end]
	if bytes.IndexByte(name, '\\') >= 0 { // escaped name: let encoding/json decode it
		var arr []json.RawMessage
		var s string
		if json.Unmarshal(append(append([]byte{'['}, p...), ']'), &arr) != nil || len(arr) == 0 ||
			json.Unmarshal(arr[0], &s) != nil {
			return nil, nil, false
		}
		if len(arr) > 1 {
			arg = arr[1]
		}
		return []byte(s), arg, true
	}
	rest := bytes.TrimSpace(p[2+end:])
	if len(rest) == 0 {
		return name, nil, true
	}
	if rest[0] != ',' {
		return nil, nil, false
	}
	arg = bytes.TrimSpace(rest[1:])
	return name, arg, true
}

// jsonInt returns the integer value of "key" in a flat JSON object without decoding it; ok is false if the key is
// missing or its value is not an integer.
func jsonInt(obj []byte, key string) (int64, bool) {
	for off := 0; ; {
		i := bytes.Index(obj[off:], []byte(`"`+key+`"`))
		if i < 0 {
			return 0, false
		}
		p := bytes.TrimLeft(obj[off+i+len(key)+2:], " \t\r\n")
		off += i + 1
		if len(p) == 0 || p[0] != ':' {
			continue // the key text appeared as a value
		}
		p = bytes.TrimLeft(p[1:], " \t\r\n")
		j := 0
		if j < len(p) && p[j] == '-' {
			j++
		}
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(string(p[:j]), 10, 64)
		return n, err == nil
	}
}

// socketSet is a group of connections opened together, one goroutine each.
type socketSet struct {
	conns     []*sioConn
	wg        sync.WaitGroup
	connected atomic.Int64
	failed    atomic.Int64
	dropped   atomic.Int64 // sessions that ended before close
	closing   atomic.Bool
	mu        sync.Mutex
	firstErr  error
}

// openSockets opens n connections with token, at most conc handshakes in flight, and returns when each has
// connected or failed. onEvent is called from socket i's goroutine for each event it receives.
func openSockets(ctx context.Context, d *sioDialer, n, conc int, token string,
	onEvent func(i int, name, arg []byte)) *socketSet {
	s := &socketSet{conns: make([]*sioConn, n)}
	sem := make(chan struct{}, conc)
	var ready sync.WaitGroup
	ready.Add(n)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			s.failed.Add(int64(n - i))
			s.setErr(ctx.Err())
			ready.Add(-(n - i))
			ready.Wait()
			return s
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			dctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			c, err := d.dial(dctx, token)
			cancel()
			<-sem
			if err != nil {
				s.failed.Add(1)
				s.setErr(err)
				ready.Done()
				return
			}
			s.conns[i] = c
			s.connected.Add(1)
			ready.Done()
			var handler func(name, arg []byte)
			if onEvent != nil {
				handler = func(name, arg []byte) { onEvent(i, name, arg) }
			}
			err = c.serve(handler)
			if !s.closing.Load() {
				s.dropped.Add(1)
				s.setErr(err)
			}
		}()
	}
	ready.Wait()
	return s
}

func (s *socketSet) setErr(err error) {
	s.mu.Lock()
	if s.firstErr == nil {
		s.firstErr = err
	}
	s.mu.Unlock()
}

func (s *socketSet) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

// close closes every connection and waits for their goroutines.
func (s *socketSet) close() {
	s.closing.Store(true)
	for _, c := range s.conns {
		if c != nil {
			c.ws.Close()
		}
	}
	s.wg.Wait()
}
