package socket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	ws "github.com/gorilla/websocket"
)

// maskedFrame is a client frame: opcode op, fin set or not, payload masked with a fixed key.
func maskedFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var b []byte
	switch n := len(payload); {
	case n < 126:
		b = []byte{b0, 0x80 | byte(n)}
	case n <= 0xffff:
		b = []byte{b0, 0x80 | 126, byte(n >> 8), byte(n)}
	default:
		b = []byte{b0, 0x80 | 127}
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := []byte{1, 2, 3, 4}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// readFrames runs a frameReader over input and returns the messages it read, the control
// frames it answered, and the error it ended with.
func readFrames(input []byte, maxMessage int) (msgs []string, answers [][]byte, err error) {
	f := frameReader{r: bytes.NewReader(input), maxMessage: maxMessage, control: func(b []byte) { answers = append(answers, b) }}
	for {
		mt, p, err := f.next()
		if err != nil {
			return msgs, answers, err
		}
		kind := "text"
		if mt == ws.BinaryMessage {
			kind = "binary"
		}
		msgs = append(msgs, kind+":"+string(p))
	}
}

func closeAnswer(code int) []byte {
	return appendFrame(nil, ws.CloseMessage, ws.FormatCloseMessage(code, ""))
}

func TestFrameReaderFollowsRFC6455(t *testing.T) {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	long := strings.Repeat("x", 300)
	tests := []struct {
		name    string
		input   []byte
		msgs    []string
		answers [][]byte
		err     error // nil: the input ends (io.EOF)
	}{
		{name: "text and binary messages", input: cat(maskedFrame(true, opText, []byte("40{}")), maskedFrame(true, opBinary, []byte{1, 2})),
			msgs: []string{"text:40{}", "binary:\x01\x02"}},
		{name: "a 16-bit length", input: maskedFrame(true, opText, []byte(long)), msgs: []string{"text:" + long}},
		{name: "a message longer than a small read", input: maskedFrame(true, opBinary, []byte(strings.Repeat(long, 3))), msgs: []string{"binary:" + strings.Repeat(long, 3)}},
		{name: "a long frame cut short", input: maskedFrame(true, opText, []byte(strings.Repeat(long, 3)))[:700], err: io.ErrUnexpectedEOF},
		{name: "a fragmented message, a ping between its fragments", input: cat(maskedFrame(false, opText, []byte("4")),
			maskedFrame(true, opPing, []byte("hi")), maskedFrame(false, opContinuation, []byte("0")), maskedFrame(true, opContinuation, []byte("{}"))),
			msgs: []string{"text:40{}"}, answers: [][]byte{appendFrame(nil, ws.PongMessage, []byte("hi"))}},
		{name: "pongs are ignored", input: cat(maskedFrame(true, opPong, nil), maskedFrame(true, opText, []byte("3"))), msgs: []string{"text:3"}},
		{name: "a close frame is answered with its code", input: cat(maskedFrame(true, opClose, ws.FormatCloseMessage(1001, "bye")), maskedFrame(true, opText, []byte("3"))),
			answers: [][]byte{closeAnswer(1001)}, err: errPeerClosed},
		{name: "an empty close frame", input: maskedFrame(true, opClose, nil), answers: [][]byte{appendFrame(nil, ws.CloseMessage, nil)}, err: errPeerClosed},
		{name: "a message over the limit", input: maskedFrame(true, opText, bytes.Repeat([]byte("x"), 1025)),
			answers: [][]byte{closeAnswer(ws.CloseMessageTooBig)}, err: errMessageTooBig},
		{name: "fragments over the limit together", input: cat(maskedFrame(false, opText, bytes.Repeat([]byte("x"), 600)), maskedFrame(true, opContinuation, bytes.Repeat([]byte("x"), 600))),
			answers: [][]byte{closeAnswer(ws.CloseMessageTooBig)}, err: errMessageTooBig},
		{name: "a 64-bit length is bounded before anything is allocated", input: []byte{0x81, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
			answers: [][]byte{closeAnswer(ws.CloseMessageTooBig)}, err: errMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, answers, err := readFrames(tt.input, 1024)
			want := tt.err
			if want == nil {
				want = io.EOF
			}
			if !errors.Is(err, want) {
				t.Fatalf("error %v, want %v", err, want)
			}
			if strings.Join(msgs, "|") != strings.Join(tt.msgs, "|") {
				t.Fatalf("messages %q, want %q", msgs, tt.msgs)
			}
			if !bytes.Equal(bytes.Join(answers, nil), bytes.Join(tt.answers, nil)) {
				t.Fatalf("answers %q, want %q", answers, tt.answers)
			}
		})
	}
}

func TestFrameReaderRefusesProtocolErrors(t *testing.T) {
	unmasked := []byte{0x81, 0x01, '3'}
	tests := map[string][]byte{
		"unmasked frame":               unmasked,
		"reserved bit":                 append([]byte{0xc1}, maskedFrame(true, opText, []byte("3"))[1:]...),
		"unknown opcode":               maskedFrame(true, 0x3, []byte("3")),
		"fragmented control frame":     maskedFrame(false, opPing, nil),
		"long control frame":           maskedFrame(true, opPing, bytes.Repeat([]byte("x"), 126)),
		"continuation without message": maskedFrame(true, opContinuation, []byte("3")),
		"message inside a message":     append(maskedFrame(false, opText, []byte("4")), maskedFrame(true, opText, []byte("0"))...),
		"close frame of one byte":      maskedFrame(true, opClose, []byte{3}),
		"close code not allowed":       maskedFrame(true, opClose, []byte{0x03, 0xed}), // 1005
	}
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			msgs, answers, err := readFrames(input, 1024)
			var pe protocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want a protocol error", err)
			}
			if len(msgs) != 0 || len(answers) != 1 || !bytes.Equal(answers[0], closeAnswer(ws.CloseProtocolError)) {
				t.Fatalf("messages %q, answers %q: want none and one close 1002", msgs, answers)
			}
		})
	}
}

// TestWebsocketMessageOverTheLimitEndsTheConnection: over the server, a client message longer
// than maxMessage is answered with close 1009 and the connection ends; a CONNECT sent in two
// fragments, with a ping between them, connects.
func TestWebsocketMessageOverTheLimitEndsTheConnection(t *testing.T) {
	s, url := newBenchServerWith(t, Options{OwnWebsocket: true})
	addr := strings.TrimPrefix(url, "http://")

	c := dialRaw(t, addr) // connected
	defer c.nc.Close()
	if _, err := c.nc.Write(maskedFrame(true, opText, bytes.Repeat([]byte("x"), maxMessage+1))); err != nil {
		t.Fatal(err)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if p, err := readServerFrame(c.br); err != nil || binary.BigEndian.Uint16(p) != ws.CloseMessageTooBig {
		t.Fatalf("want close 1009, got %q %v", p, err)
	}
	// Closed with the rest of the message unread: the client sees the end, or a reset.
	if _, err := io.Copy(io.Discard, c.br); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection not closed: %v", err)
	}

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, _ = io.WriteString(nc, upgradeRequest(addr, "", ""))
	br := bufio.NewReader(nc)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	if _, err := readServerFrame(br); err != nil { // open
		t.Fatal(err)
	}
	_, _ = nc.Write(bytes.Join([][]byte{maskedFrame(false, opText, []byte(`40{"tok`)), maskedFrame(true, opPing, []byte("p")),
		maskedFrame(true, opContinuation, []byte(`en":"pdg"}`))}, nil))
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	pong, err := readServerFrame(br)
	if err != nil || string(pong) != "p" {
		t.Fatalf("want the pong, got %q %v", pong, err)
	}
	if ack, err := readServerFrame(br); err != nil || !bytes.HasPrefix(ack, []byte("40{")) {
		t.Fatalf("socket.io connect: %q %v", ack, err)
	}
	waitJoined(t, s, 1)
}

// TestPolledSocketsHoldNoGoroutineAndLeaveNoEntry: an idle websocket has no reader goroutine
// (the poller reads when data arrives: two messages in one write are both read, in order), and
// a connection that ends leaves the poller's table.
func TestPolledSocketsHoldNoGoroutineAndLeaveNoEntry(t *testing.T) {
	s, url := newBenchServerWith(t, Options{OwnWebsocket: true})
	if s.poller == nil {
		t.Skip("no read poller on this system")
	}
	addr := strings.TrimPrefix(url, "http://")
	const n = 20
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dialRaw(t, addr)
	}
	waitJoined(t, s, n)
	if got := pollerEntries(s.poller); got != n {
		t.Fatalf("%d connections watched, want %d", got, n)
	}
	// A pong and a ping frame in one write: the ping is answered after the pong was read.
	c := clients[0]
	_, _ = c.nc.Write(append(maskedFrame(true, opText, []byte("3")), maskedFrame(true, opPing, []byte("again"))...))
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if p, err := readServerFrame(c.br); err != nil || string(p) != "again" {
		t.Fatalf("want the pong, got %q %v", p, err)
	}
	for _, c := range clients {
		_ = c.nc.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); s.Sessions() > 0 || pollerEntries(s.poller) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the clients left: %d sessions, %d connections watched", s.Sessions(), pollerEntries(s.poller))
		}
	}
}

// FuzzFrameReader: whatever a client sends, the reader never panics, never returns a message
// over the limit, and answers only with well-formed control frames.
func FuzzFrameReader(f *testing.F) {
	f.Add(maskedFrame(true, opText, []byte(`40{"token":"x"}`)))
	f.Add(append(maskedFrame(false, opText, []byte("4")), maskedFrame(true, opContinuation, []byte("0"))...))
	f.Add(maskedFrame(true, opPing, []byte("p")))
	f.Add(maskedFrame(true, opClose, ws.FormatCloseMessage(1000, "")))
	f.Add([]byte{0x81, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	const limit = 256
	f.Fuzz(func(t *testing.T, input []byte) {
		fr := frameReader{r: bytes.NewReader(input), maxMessage: limit, control: func(b []byte) {
			if len(b) < 2 || b[0]&0x70 != 0 || b[0]&0x0f < opClose || int(b[1]) != len(b)-2 {
				t.Fatalf("malformed control answer %x", b)
			}
		}}
		for {
			_, p, err := fr.next()
			if err != nil {
				return
			}
			if len(p) > limit {
				t.Fatalf("message of %d bytes, limit %d", len(p), limit)
			}
		}
	})
}
