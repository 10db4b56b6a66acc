// Package socket is the Socket.IO server: handshake authentication, rooms, and delivery of the
// contract's events to the sockets connected to this process.
package socket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	engine "github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	sio "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/impl/auth"
	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// Tokens verifies access tokens.
type Tokens interface {
	Verify(token string) (auth.Claims, error)
}

// Users loads a user with its PDG right.
type Users interface {
	User(ctx context.Context, id int64) (domain.User, error)
}

// Options configures the server.
type Options struct {
	// FrontendURL is the one foreign browser origin allowed (CORS and handshake Origin check);
	// a same-origin handshake (Origin equal to the request's own origin, see RequestOrigin) is
	// allowed too.
	FrontendURL  string
	PingInterval time.Duration
	PingTimeout  time.Duration
	// ClientIP returns the client address of a request (the peer, or the client behind a
	// trusted proxy); nil: the peer address.
	ClientIP func(*http.Request) string
	// RequestOrigin returns the origin (scheme://host) a request was sent to, as its client saw
	// it; nil: http or https (TLS) and the Host header.
	RequestOrigin func(*http.Request) string
	// Limits bound unauthenticated sessions (zero: none, but ConnectTimeout defaults to 10 s).
	Limits Limits
	// Observer, when set, is told of each event emitted.
	Observer Observer
	// OwnWebsocket serves websockets with our own Engine.IO sessions (wsSession, for sessions
	// that start on a websocket) and transport (wsTransport, for upgrades from polling) instead
	// of the library's.
	// Opt-in for now: answering at once, it makes the Go Socket.IO client's connect race (see
	// wsTransport.Send) more frequent than the library's transport does.
	OwnWebsocket bool
}

// Observer is told of each event emitted to this process's sockets.
type Observer interface {
	Emitted(event string)
}

// Server is the Socket.IO server.
//
// Connection state recovery is off: a reconnecting socket is a new socket, authenticated again,
// and it receives only what is emitted from then on; clients resynchronise over REST after a
// reconnection (the count and the list), which is always correct and never replays an event to
// someone no longer entitled to it. Every event carries exactly its declared payload.
type Server struct {
	io     *sio.Server
	poller *readPoller  // nil: none (the library's websocket transport, or no epoll)
	timers *timers      // the process's timers: heartbeats of our sessions, connect timeouts, token expiries
	host   *sessionHost // nil: every session is the engine's (the library's websocket transport)
	tokens Tokens
	users  Users
	log    *slog.Logger
	obs    Observer
	guard  *guard

	handler http.Handler

	mu     sync.Mutex
	byUser map[int64]map[*sio.Socket]struct{} // this process's sockets, by contact
}

// connData is what this server keeps for a socket (its Data), from its authentication to its
// disconnection: who it is, and its token's expiry. Its methods are the socket's listeners and
// timer: one object per socket, where closures cost one each.
type connData struct {
	s            *Server
	sock         *sio.Socket
	userID       int64
	tokenVersion int32
	pdg          bool
	expiresAt    time.Time
	expiry       timer // on expiresAt: the socket ends with its token
	gone         atomic.Bool
}

// New returns a Socket.IO server that authenticates handshakes with tokens and users.
func New(opts Options, tokens Tokens, users Users, log *slog.Logger) *Server {
	if opts.ClientIP == nil {
		opts.ClientIP = peerIP
	}
	if opts.RequestOrigin == nil {
		opts.RequestOrigin = directOrigin
	}
	if opts.Limits.ConnectTimeout <= 0 {
		opts.Limits.ConnectTimeout = 10 * time.Second
	}
	o := sio.DefaultServerOptions()
	o.SetServeClient(false)
	o.SetCors(&types.Cors{Origin: opts.FrontendURL, Credentials: true})
	o.SetAllowRequest(func(ctx *types.HttpContext) error {
		// Browsers always send Origin: a foreign one is refused. Clients without Origin
		// (servers, mobile apps) are judged by their token alone, and so are those whose Origin
		// is the server's own (see sameOrigin).
		r := ctx.Request()
		if origin := r.Header.Get("Origin"); origin != "" && origin != opts.FrontendURL {
			log.Info("socket handshake refused", "reason", "foreign origin", "origin", origin, "remote", opts.ClientIP(r))
			return errors.New("origin not allowed")
		}
		return nil
	})
	o.SetMaxHttpBufferSize(maxMessage) // clients send nothing but the handshake
	if opts.PingInterval > 0 {
		o.SetPingInterval(opts.PingInterval)
	}
	if opts.PingTimeout > 0 {
		o.SetPingTimeout(opts.PingTimeout)
	}
	o.SetConnectTimeout(opts.Limits.ConnectTimeout)
	// No connection state recovery (see Server): the library would replay the missed packets and
	// rejoin the old rooms while it builds the socket, before any middleware authenticates it.
	var poller *readPoller
	if opts.OwnWebsocket {
		var err error
		if poller, err = newReadPoller(); err != nil { // see readpoll_linux.go
			log.Warn("websocket read poller unavailable: a reader goroutine per websocket", "err", err)
		}
		o.SetTransports(types.NewSet[transports.TransportCtor](&transports.PollingBuilder{}, wsBuilder{maxMessage: maxMessage, poller: poller})) // see wstransport.go
	}
	o.SetAdapter(fanoutAdapterBuilder{ownWS: opts.OwnWebsocket}) // see adapter.go
	ts := newTimers()
	s := &Server{io: sio.NewServer(nil, o), poller: poller, timers: ts, tokens: tokens, users: users, log: log, obs: opts.Observer,
		guard: newGuard(opts.Limits, opts.ClientIP, log, ts), byUser: map[int64]map[*sio.Socket]struct{}{}}
	s.handler = s.guard.wrap(sameOrigin(opts.FrontendURL, opts.RequestOrigin, detachOnUpgrade(s.engineHandler(opts))))
	_ = s.io.Engine().On("connection", func(args ...any) {
		if conn, ok := args[0].(engine.Socket); ok {
			s.guard.opened(conn)
			if _, own := conn.(*wsSession); !own { // ours bounds its connection's writes itself (wsconn.go)
				boundQueue(conn, log)
			}
		}
	})
	s.io.Use(s.authenticate)
	s.io.On("connection", func(args ...any) {
		if sock, ok := args[0].(*sio.Socket); ok {
			s.onConnection(sock)
		}
	})
	return s
}

// engineHandler is the engine's handler, behind our upgrader when websockets are ours.
func (s *Server) engineHandler(opts Options) http.Handler {
	h := s.io.ServeHandler(nil)
	if !opts.OwnWebsocket {
		return h
	}
	s.host = newSessionHost(s.io.Engine(), s.timers, s.poller)     // the engine exists once ServeHandler made it
	return newUpgrader(s.io.Engine(), s.host, opts.FrontendURL, h) // see upgrade.go
}

// Handler serves /socket.io/ (websocket and polling).
func (s *Server) Handler() http.Handler { return s.handler }

// Sessions returns the number of Engine.IO sessions open on this process, authenticated or not.
func (s *Server) Sessions() int { return s.guard.sessions() }

// sameOrigin removes the Origin header of requests whose Origin is the server's own origin (as
// their client addressed it): a same-origin request is not cross-site, and the library, which
// knows only the one allowed foreign origin, would refuse it. Python's websocket client, for
// one, always sends its target's origin. Every other Origin is left for the origin check.
func sameOrigin(frontend string, requestOrigin func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && origin != frontend && strings.EqualFold(origin, requestOrigin(r)) {
			r = r.Clone(r.Context())
			r.Header.Del("Origin")
		}
		next.ServeHTTP(w, r)
	})
}

func peerIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

func directOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (s *Server) authenticate(sock *sio.Socket, next func(*sio.ExtendedError)) {
	remote := s.guard.remote(sock.Conn().Id())
	deny := func(reason string, attrs ...any) {
		s.log.Info("socket auth failed", append([]any{"reason", reason, "remote", remote}, attrs...)...)
		next(sio.NewExtendedError("unauthorized", nil))
	}
	// One socket per session: a CONNECT sent while the first was being authenticated (several
	// in one write, or one poll's body) would make one more socket, with its rooms, per packet.
	// Such a session is closed, without an answer: a client that sent its CONNECT again after the
	// server disconnected its socket (a new token after the old one expired) reconnects afresh,
	// where a connect_error would stop it.
	secondConnect := func() {
		s.log.Info("socket session closed", "reason", "second connect on the session", "remote", remote)
		sock.Conn().Close(true) // at once: a polling session does not wait for its next poll
	}
	if s.guard.hasSocket(sock.Conn().Id()) {
		secondConnect()
		return
	}
	hs := sock.Handshake()
	token, _ := hs.Auth["token"].(string)
	// The socket's handshake is kept for its life: its auth payload is not (nothing reads it
	// again): neither the token nor whatever else a client put in it (up to maxMessage).
	hs.Auth = nil
	if token == "" {
		deny("missing token")
		return
	}
	claims, err := s.tokens.Verify(token)
	if err != nil {
		deny("invalid token", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := s.users.User(ctx, claims.UserID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		deny("unknown contact", "contact_id", claims.UserID)
		return
	case err != nil:
		s.log.Warn("socket auth: load user", "contact_id", claims.UserID, "err", err)
		next(sio.NewExtendedError("unauthorized", map[string]any{"retry": true}))
		return
	case !u.Accepts(claims.TokenVersion):
		deny("revoked token", "contact_id", claims.UserID)
		return
	}
	if !s.guard.connected(sock.Conn().Id()) {
		secondConnect()
		return
	}
	sock.SetData(&connData{s: s, sock: sock, userID: u.ID, tokenVersion: u.TokenVersion, pdg: u.IsPDG,
		expiresAt: claims.ExpiresAt, expiry: timer{i: -1}})
	if sess, ok := sock.Conn().(*wsSession); ok {
		sess.connected() // the socket has its handshake: the request is of no use from now on
	}
	// Join the rooms here, before the library answers CONNECT: a client that has its answer is
	// in its rooms, so an event emitted from then on reaches it.
	sock.Join(sio.Room(events.UserRoom(u.ID)))
	if u.IsPDG {
		sock.Join(sio.Room(events.RoomPDGNotifications))
	}
	next(nil)
}

func (s *Server) onConnection(sock *sio.Socket) {
	data, ok := sock.Data().(*connData)
	if !ok {
		sock.Disconnect(true)
		return
	}
	// Rooms were joined by authenticate. The socket ends with its token; its connection ends with
	// it (one namespace: the connection's last socket).
	data.expiry.f = data.expire
	s.timers.schedule(&data.expiry, time.Until(data.expiresAt))
	// Listen first, then check: a disconnect that came before the listener is not missed.
	s.track(data.userID, sock, true)
	sock.On("disconnect", data.disconnected)
	// The contract has no client-to-server event: a client that emits one is not following it,
	// and every packet it sends costs a decode, so its socket ends.
	sock.OnAny(data.clientEvent)
	if !sock.Connected() {
		data.disconnected("already disconnected")
		return
	}
	s.log.Debug("socket connected", "contact_id", data.userID, "pdg", data.pdg, "sid", sock.Id())
}

// expire ends the socket when its token expires. It runs on the timers goroutine: the rest on a
// goroutine of its own.
func (c *connData) expire() {
	go func() {
		c.s.log.Info("socket token expired", "contact_id", c.userID, "sid", c.sock.Id())
		c.sock.Disconnect(false)
	}()
}

// disconnected is the socket's "disconnect" listener: once, it forgets the socket and ends its
// connection.
func (c *connData) disconnected(args ...any) {
	if !c.gone.CompareAndSwap(false, true) {
		return
	}
	c.s.timers.stop(&c.expiry)
	c.s.track(c.userID, c.sock, false)
	// One namespace: a socket is its connection's last, so the connection ends with it instead of
	// lingering, pinging, for a client that does not close it.
	switch reason, _ := firstString(args); reason {
	case "client namespace disconnect":
		c.sock.Conn().Close(false)
	case "server namespace disconnect":
		// The DISCONNECT packet first (the client must see "io server disconnect", not a transport
		// close it would reconnect from): a well-behaved client closes the connection itself on it.
		conn := c.sock.Conn()
		time.AfterFunc(closeGrace, func() { conn.Close(false) })
	}
}

// clientEvent is the socket's listener of every client event: the contract has none, so the
// socket ends.
func (c *connData) clientEvent(args ...any) {
	event, _ := firstString(args)
	c.s.log.Info("socket disconnected", "reason", "client sent an event", "event", truncate(event, 64), "contact_id", c.userID, "sid", c.sock.Id())
	c.sock.Disconnect(true)
}

func (s *Server) track(id int64, sock *sio.Socket, connected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.byUser[id]
	if connected {
		if set == nil {
			set = map[*sio.Socket]struct{}{}
			s.byUser[id] = set
		}
		set[sock] = struct{}{}
		return
	}
	delete(set, sock)
	if len(set) == 0 {
		delete(s.byUser, id)
	}
}

// CountSockets returns the number of sockets connected to this process: PDG sockets (those in
// the pdg-notifications room) and the others.
func (s *Server) CountSockets() (pdg, other int) {
	s.mu.Lock()
	var socks []*sio.Socket
	for _, set := range s.byUser {
		for sock := range set {
			socks = append(socks, sock)
		}
	}
	s.mu.Unlock()
	for _, sock := range socks {
		if sock.Rooms().Has(sio.Room(events.RoomPDGNotifications)) {
			pdg++
		} else {
			other++
		}
	}
	return pdg, other
}

func (s *Server) socketsOf(id int64) []*sio.Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*sio.Socket, 0, len(s.byUser[id]))
	for sock := range s.byUser[id] {
		out = append(out, sock)
	}
	return out
}

// refresh applies a change of a contact (PDG right granted or revoked, tokens revoked, contact
// removed) to its sockets on this process.
func (s *Server) refresh(m events.Message) error {
	p, err := events.DecodeInternalUserChanged(m)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	socks := s.socketsOf(p.ContactID)
	if len(socks) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := s.users.User(ctx, p.ContactID)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		// Fail closed: the change may be a revocation. The clients reconnect and are
		// authenticated afresh.
		for _, sock := range socks {
			sock.Disconnect(false)
		}
		return fmt.Errorf("refresh contact %d: its %d sockets disconnected: %w", p.ContactID, len(socks), err)
	}
	for _, sock := range socks {
		data, _ := sock.Data().(*connData)
		switch {
		case err != nil || data == nil || !u.Accepts(data.tokenVersion):
			s.log.Info("socket disconnected", "reason", "contact removed or tokens revoked", "contact_id", p.ContactID, "sid", sock.Id())
			sock.Disconnect(false)
		case u.IsPDG:
			sock.Join(sio.Room(events.RoomPDGNotifications))
		default:
			sock.Leave(sio.Room(events.RoomPDGNotifications))
		}
	}
	s.log.Info("sockets refreshed", "contact_id", p.ContactID, "sockets", len(socks), "pdg", u.IsPDG)
	return nil
}

// Deliver sends m to the sockets of this process in its rooms; a socket in several of them
// gets it once. Internal messages are never emitted: internal:user-changed updates the sockets
// instead. Under a recording span in ctx, the emit is a span of its own (see traceEmit).
func (s *Server) Deliver(ctx context.Context, m events.Message) (err error) {
	switch {
	case m.Event == events.EventInternalUserChanged:
		return s.refresh(m)
	case events.IsInternal(m.Event):
		return nil
	}
	rooms := make([]sio.Room, len(m.Rooms))
	for i, r := range m.Rooms {
		rooms[i] = sio.Room(r)
	}
	ctx, end := s.traceEmit(ctx, m.Event, rooms)
	defer func() { end(err) }()
	if err := s.io.To(rooms...).Emit(m.Event, m.Payload); err != nil {
		return fmt.Errorf("deliver %s to %v: %w", m.Event, m.Rooms, err)
	}
	if s.obs != nil {
		s.obs.Emitted(m.Event)
	}
	s.log.InfoContext(ctx, "event emitted", "event", m.Event, "rooms", m.Rooms)
	return nil
}

// Close disconnects every socket and stops the server.
func (s *Server) Close() {
	done := make(chan struct{})
	s.io.Close(func(error) { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	if s.poller != nil {
		s.poller.close()
	}
	s.timers.close()
}

// maxMessage is the longest message (websocket) or body (polling) a client may send.
const maxMessage = 16 << 10

// closeGrace is how long a connection whose socket the server disconnected stays open for its
// DISCONNECT packet to reach the client.
const closeGrace = 2 * time.Second

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	v, ok := args[0].(string)
	return v, ok
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
