package socket

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"

	ws "github.com/gorilla/websocket"
	engine "github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// upgrader opens the Engine.IO sessions that start on a websocket (no sid) itself, in place of
// the engine's HandleUpgrade: after the engine's middlewares and checks (Verify), an Engine.IO v4
// session is ours (wsSession, see session.go), handed to the Socket.IO server through the
// engine's "connection" event as the engine's own sessions are; any other protocol revision goes
// to the engine's Handshake (which refuses it). Every other request goes to the engine. What
// differs from the engine's upgrade is memory a connection keeps for its life:
//
//   - gorilla's buffers: the engine's upgrader gives every connection a 1 KB read buffer and a
//     1 KB write buffer, which wsConn never uses (it reads and writes the connection itself);
//     ours has the smallest read buffer gorilla allows and a shared write buffer pool, and a
//     session keeps only the network connection;
//   - the request: the engine keeps the handshake request for the session's life, and Socket.IO
//     copies its headers into the socket's handshake; the engine sees only the headers it and
//     this server read (upgradeHeaders), not the user agent, cookies and the rest a browser sends,
//     and a wsSession drops the request once its socket connected.
//
// Sessions upgraded from polling (a sid) still go through the engine's upgrade (its internals
// are not reachable from here): their connections keep gorilla's 2 KB, but wsTransport's reader
// does not use them either.
type upgrader struct {
	eng  engine.BaseServer
	host *sessionHost // opens the Engine.IO v4 sessions (wsSession)
	up   ws.Upgrader
	keep []string // upgradeHeaders
	next http.Handler
}

// upgradeHeaders returns the request headers kept for a websocket handshake: first the
// upgrade's own (RFC 6455: the first upgradeOnly, removed after the upgrade), then Origin (the
// origin check; Socket.IO's handshake.xdomain) and X-Forwarded-For (the client address behind a
// trusted proxy, logged when a handshake is refused).
func upgradeHeaders() []string {
	return []string{"Connection", "Upgrade", "Sec-Websocket-Key", "Sec-Websocket-Version", "Origin", "X-Forwarded-For"}
}

// upgradeOnly is how many of upgradeHeaders serve only the upgrade.
const upgradeOnly = 4

// newUpgrader returns an upgrader for eng that accepts the browser origin frontend (and
// clients without Origin, as the engine does); next serves every other request.
func newUpgrader(eng engine.BaseServer, host *sessionHost, frontend string, next http.Handler) *upgrader {
	return &upgrader{eng: eng, host: host, next: next, keep: upgradeHeaders(), up: ws.Upgrader{
		ReadBufferSize:  1, // gorilla's minimum (125 bytes): wsTransport reads the connection itself
		WriteBufferPool: &sync.Pool{},
		CheckOrigin: func(r *http.Request) bool {
			origin := r.Header.Get("Origin")
			return origin == "" || origin == frontend
		},
		Error: func(http.ResponseWriter, *http.Request, int, error) {}, // answered by refuse below
	}}
}

func (u *upgrader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !ws.IsWebSocketUpgrade(r) || q.Get("sid") != "" || q.Get("transport") != transports.WEBSOCKET {
		u.next.ServeHTTP(w, r)
		return
	}
	ctx := types.NewHttpContext(w, withHeaders(r, u.keep))
	eng := u.eng.Proto()
	eng.ApplyMiddlewares(ctx, func(err error) {
		if ctx.IsDone() || ctx.Context().Err() != nil {
			return
		}
		if err != nil {
			u.refuseUpgrade(ctx, engine.BAD_REQUEST, map[string]any{"name": "MIDDLEWARE_FAILURE"})
			return
		}
		if code, errCtx := eng.Verify(ctx, true); code != nil {
			u.refuseUpgrade(ctx, code, errCtx)
			return
		}
		u.upgrade(ctx)
	})
}

// upgrade does what the engine's HandleUpgrade does after Verify, for a new session.
func (u *upgrader) upgrade(ctx *types.HttpContext) {
	wsc := &types.WebSocketConn{EventEmitter: types.NewEventEmitter()}
	conn, err := u.up.Upgrade(ctx.Response(), ctx.Request(), ctx.ResponseHeaders().All())
	if err != nil {
		u.refuse(ctx, engine.BAD_REQUEST, map[string]any{"name": "UPGRADE_FAILURE"})
		return
	}
	conn.SetReadLimit(maxMessage)
	wsc.Conn = conn
	// No "error" listener until the transport's (the engine's HandleUpgrade adds one and removes
	// it, which leaves an entry in the emitter): nothing emits on the connection before.
	if ctx.Query().Peek("EIO") == "4" {
		// Our session (wsSession): gorilla's connection is of no use from now on.
		u.dropUpgradeHeaders(ctx)
		ctx.IdleTimeout = u.host.idleTimeout
		if !u.host.open(ctx, conn.NetConn()) {
			_ = conn.Close()
		}
		return
	}
	ctx.Websocket = wsc
	code, t := u.eng.Proto().Handshake(transports.WEBSOCKET, ctx)
	u.dropUpgradeHeaders(ctx)
	if t == nil {
		message := engine.BAD_REQUEST.Message
		if code != nil {
			message = code.Message
		}
		_ = ctx.On("error", func(...any) {})
		_ = wsc.WriteMessage(ws.CloseMessage, ws.FormatCloseMessage(ws.CloseNormalClosure, message))
		_ = wsc.Close()
	}
}

// dropUpgradeHeaders removes the upgrade's own headers, of no use from now on; Socket.IO copies
// what is left into the socket's handshake when the client connects.
func (u *upgrader) dropUpgradeHeaders(ctx *types.HttpContext) {
	for _, k := range u.keep[:upgradeOnly] {
		ctx.Headers().Remove(k)
	}
}

// refuseUpgrade answers a request the engine's checks refused, as the engine's HandleUpgrade
// does: its "connection_error" event, and 400 with the message as text.
func (u *upgrader) refuseUpgrade(ctx *types.HttpContext, code *types.CodeMessage, errCtx map[string]any) {
	u.eng.Emit("connection_error", &types.ErrorMessage{CodeMessage: code, Req: ctx, Context: errCtx})
	_ = ctx.SetStatusCode(http.StatusBadRequest)
	_, _ = io.WriteString(ctx, errorMessage(code, errCtx))
}

// refuse answers a failed upgrade as the engine does: its "connection_error" event, and 400
// (403 for FORBIDDEN) with the engine's JSON error.
func (u *upgrader) refuse(ctx *types.HttpContext, code *types.CodeMessage, errCtx map[string]any) {
	u.eng.Emit("connection_error", &types.ErrorMessage{CodeMessage: code, Req: ctx, Context: errCtx})
	status := http.StatusBadRequest
	if code == engine.FORBIDDEN {
		status = http.StatusForbidden
	}
	ctx.ResponseHeaders().Set("Content-Type", "application/json")
	_ = ctx.SetStatusCode(status)
	b, _ := json.Marshal(types.CodeMessage{Code: code.Code, Message: errorMessage(code, errCtx)})
	_, _ = ctx.Write(b)
}

// errorMessage is the message of a refusal: the context's "message" when set, else the code's.
func errorMessage(code *types.CodeMessage, errCtx map[string]any) string {
	if m, ok := errCtx["message"].(string); ok {
		return m
	}
	return code.Message
}

// maxKeptHeader bounds a header kept for a session's life (Socket.IO's handshake copies them): a
// longer one (an X-Forwarded-For a client padded) is not kept.
const maxKeptHeader = 256

func headerLen(v []string) int {
	n := 0
	for _, s := range v {
		n += len(s)
	}
	return n
}

// withHeaders returns a shallow copy of r with only the headers named in keep (canonical
// names); r itself is not changed.
func withHeaders(r *http.Request, keep []string) *http.Request {
	h := make(http.Header, len(keep))
	for _, k := range keep {
		// Origin is never dropped (the origin checks read it; one that is not the frontend's is refused).
		if v, ok := r.Header[k]; ok && (k == "Origin" || headerLen(v) <= maxKeptHeader) {
			h[k] = v
		}
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = h
	return r2
}
