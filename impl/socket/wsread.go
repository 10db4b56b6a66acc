package socket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	ws "github.com/gorilla/websocket"
)

// frameReader reads a client's websocket messages straight from its connection, with no buffer
// between the socket and the message: an idle connection holds no read buffer, and the
// goroutine that waits for the next frame waits a few calls deep, so its stack stays at the
// runtime's minimum. Client frames are few and small (a CONNECT, a pong every ping interval):
// the three reads a frame costs (header, length and mask, payload) do not matter.
//
// It implements what RFC 6455 asks of a server that negotiates no extension: client frames are
// masked, reserved bits are zero, control frames are final and at most 125 bytes, continuation
// frames follow a fragmented message. Pings are answered, pongs ignored; a close frame is
// answered with its code and ends the connection (errPeerClosed). A message longer than
// maxMessage is refused with close code 1009.
type frameReader struct {
	r          io.Reader
	maxMessage int
	// control is called with each control frame's answer (a pong, a close frame), to be written
	// after what was written before.
	control func(frame []byte)
}

// errPeerClosed is returned by next when the client closed the connection with a close frame.
var errPeerClosed = errors.New("websocket: closed by the client")

// errMessageTooBig is returned by next for a message longer than the limit.
var errMessageTooBig = errors.New("websocket: message too big")

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// protocolError is a client frame that breaks RFC 6455; the connection is closed with 1002.
type protocolError string

func (e protocolError) Error() string { return "websocket: protocol error: " + string(e) }

// next returns the next data message: its type (ws.TextMessage or ws.BinaryMessage) and payload.
func (f *frameReader) next() (int, []byte, error) {
	var (
		msgType int
		msg     []byte
		started bool
	)
	for {
		fin, op, payload, err := f.frame(f.maxMessage - len(msg))
		if err != nil {
			var pe protocolError
			switch {
			case errors.As(err, &pe):
				f.control(appendFrame(nil, ws.CloseMessage, ws.FormatCloseMessage(ws.CloseProtocolError, "")))
			case errors.Is(err, errMessageTooBig):
				f.control(appendFrame(nil, ws.CloseMessage, ws.FormatCloseMessage(ws.CloseMessageTooBig, "")))
			}
			return 0, nil, err
		}
		switch op {
		case opPing:
			f.control(appendFrame(nil, ws.PongMessage, payload))
			continue
		case opPong:
			continue
		case opClose:
			code := ws.CloseNoStatusReceived
			switch {
			case len(payload) == 1:
				return 0, nil, f.fail("close frame of one byte")
			case len(payload) >= 2:
				code = int(binary.BigEndian.Uint16(payload))
				if !validCloseCode(code) || !utf8.Valid(payload[2:]) {
					return 0, nil, f.fail("invalid close frame")
				}
			}
			f.control(appendFrame(nil, ws.CloseMessage, ws.FormatCloseMessage(code, "")))
			return 0, nil, errPeerClosed
		case opText, opBinary:
			if started {
				return 0, nil, f.fail("data frame inside a fragmented message")
			}
			started, msgType = true, int(op)
		case opContinuation:
			if !started {
				return 0, nil, f.fail("continuation frame without a message")
			}
		default:
			return 0, nil, f.fail(fmt.Sprintf("unknown opcode %d", op))
		}
		if msg == nil && fin {
			return msgType, payload, nil
		}
		msg = append(msg, payload...)
		if fin {
			return msgType, msg, nil
		}
	}
}

func (f *frameReader) fail(reason string) error {
	f.control(appendFrame(nil, ws.CloseMessage, ws.FormatCloseMessage(ws.CloseProtocolError, "")))
	return protocolError(reason)
}

// frame reads one frame, whose payload may be at most limit bytes when it is a data frame.
func (f *frameReader) frame(limit int) (fin bool, op byte, payload []byte, err error) {
	var h [14]byte // 2 bytes, an extended length of 0, 2 or 8 bytes, the 4-byte mask key
	if _, err := io.ReadFull(f.r, h[:2]); err != nil {
		return false, 0, nil, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[0]&0x70 != 0 {
		return false, 0, nil, protocolError("reserved bits set")
	}
	if h[1]&0x80 == 0 {
		return false, 0, nil, protocolError("unmasked client frame")
	}
	ext := 0
	switch h[1] & 0x7f {
	case 126:
		ext = 2
	case 127:
		ext = 8
	}
	if _, err := io.ReadFull(f.r, h[2:2+ext+4]); err != nil {
		return false, 0, nil, err
	}
	var n uint64
	switch ext {
	case 0:
		n = uint64(h[1] & 0x7f)
	case 2:
		n = uint64(binary.BigEndian.Uint16(h[2:4]))
	case 8:
		n = binary.BigEndian.Uint64(h[2:10])
	}
	if op >= opClose {
		if !fin || n > 125 {
			return false, 0, nil, protocolError("fragmented or long control frame")
		}
	} else if n > uint64(max(limit, 0)) {
		return false, 0, nil, errMessageTooBig
	}
	if n <= smallPayload {
		payload = make([]byte, n)
		if _, err := io.ReadFull(f.r, payload); err != nil {
			return false, 0, nil, err
		}
	} else {
		// Grown as the bytes arrive: a client that announces a long frame and sends it slowly
		// makes the server hold what it sent, not what it announced.
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, f.r, int64(n)); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return false, 0, nil, err
		}
		payload = buf.Bytes()
	}
	key := h[2+ext : 2+ext+4]
	for i := range payload {
		payload[i] ^= key[i&3]
	}
	return fin, op, payload, nil
}

// smallPayload is the longest payload read into a buffer of its announced size at once.
const smallPayload = 512

// validCloseCode reports whether a client may send code in a close frame (RFC 6455 7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
