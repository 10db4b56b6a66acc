// Package socket is the Socket.IO server: handshake authentication, rooms, and delivery of the
// contract's events to the sockets connected to this process.
package socket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	sio "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"artisan-notify/gen/events"
	"artisan-notify/impl/auth"
	"artisan-notify/impl/store"
)

// Tokens verifies access tokens.
type Tokens interface {
	Verify(token string) (auth.Claims, error)
}

// Users loads a user with its PDG right.
type Users interface {
	User(ctx context.Context, id int64) (store.User, error)
}

// Options configures the server.
type Options struct {
	FrontendURL string // the one browser origin allowed (CORS and handshake Origin check)
	// RecoveryWindow is how long a disconnected socket's missed events are kept for it to
	// recover them (connection state recovery); 0 turns recovery off.
	RecoveryWindow time.Duration
	PingInterval   time.Duration
	PingTimeout    time.Duration
	// Observer, when set, is told of each event emitted.
	Observer Observer
}

// Observer is told of each event emitted to this process's sockets.
type Observer interface {
	Emitted(event string)
}

// Server is the Socket.IO server.
type Server struct {
	io     *sio.Server
	tokens Tokens
	users  Users
	log    *slog.Logger
	obs    Observer

	mu     sync.Mutex
	byUser map[int64]map[*sio.Socket]struct{} // this process's sockets, by contact
}

// connData is what the auth middleware attaches to a socket.
type connData struct {
	user      store.User
	expiresAt time.Time
}

// New returns a Socket.IO server that authenticates handshakes with tokens and users.
func New(opts Options, tokens Tokens, users Users, log *slog.Logger) *Server {
	o := sio.DefaultServerOptions()
	o.SetServeClient(false)
	o.SetCors(&types.Cors{Origin: opts.FrontendURL, Credentials: true})
	o.SetAllowRequest(func(ctx *types.HttpContext) error {
		// Browsers always send Origin: a foreign one is refused. Clients without Origin
		// (servers, mobile apps) are judged by their token alone.
		if origin := ctx.Request().Header.Get("Origin"); origin != "" && origin != opts.FrontendURL {
			log.Info("socket handshake refused", "reason", "foreign origin", "origin", origin, "remote", ctx.Request().RemoteAddr)
			return errors.New("origin not allowed")
		}
		return nil
	})
	o.SetMaxHttpBufferSize(16 << 10) // clients send nothing but the handshake
	if opts.PingInterval > 0 {
		o.SetPingInterval(opts.PingInterval)
	}
	if opts.PingTimeout > 0 {
		o.SetPingTimeout(opts.PingTimeout)
	}
	o.SetConnectTimeout(10 * time.Second)
	if opts.RecoveryWindow > 0 {
		r := sio.DefaultConnectionStateRecovery()
		r.SetMaxDisconnectionDuration(opts.RecoveryWindow.Milliseconds())
		r.SetSkipMiddlewares(false) // a recovered socket is authenticated again
		o.SetConnectionStateRecovery(r)
	}
	o.SetAdapter(fanoutAdapterBuilder{window: opts.RecoveryWindow}) // see adapter.go
	s := &Server{io: sio.NewServer(nil, o), tokens: tokens, users: users, log: log, obs: opts.Observer, byUser: map[int64]map[*sio.Socket]struct{}{}}
	s.io.Use(s.authenticate)
	s.io.On("connection", func(args ...any) {
		if sock, ok := args[0].(*sio.Socket); ok {
			s.onConnection(sock)
		}
	})
	return s
}

// Handler serves /socket.io/ (websocket and polling).
func (s *Server) Handler() http.Handler { return detachOnUpgrade(s.io.ServeHandler(nil)) }

func (s *Server) authenticate(sock *sio.Socket, next func(*sio.ExtendedError)) {
	remote := sock.Handshake().Address
	deny := func(reason string, attrs ...any) {
		s.log.Info("socket auth failed", append([]any{"reason", reason, "remote", remote}, attrs...)...)
		next(sio.NewExtendedError("unauthorized", nil))
	}
	token, _ := sock.Handshake().Auth["token"].(string)
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
	case errors.Is(err, store.ErrNotFound):
		deny("unknown contact", "contact_id", claims.UserID)
		return
	case err != nil:
		s.log.Warn("socket auth: load user", "contact_id", claims.UserID, "err", err)
		next(sio.NewExtendedError("unauthorized", map[string]any{"retry": true}))
		return
	case u.TokenVersion != claims.TokenVersion:
		deny("revoked token", "contact_id", claims.UserID)
		return
	}
	sock.SetData(&connData{user: u, expiresAt: claims.ExpiresAt})
	// Join the rooms here, before the library answers CONNECT: a client that has its answer is
	// in its rooms, so an event emitted from then on reaches it.
	sock.Join(sio.Room(events.UserRoom(u.ID)))
	if u.IsPDG {
		sock.Join(sio.Room(events.RoomPDGNotifications))
	} else {
		sock.Leave(sio.Room(events.RoomPDGNotifications)) // a recovered socket whose PDG right was removed
	}
	next(nil)
}

func (s *Server) onConnection(sock *sio.Socket) {
	data, ok := sock.Data().(*connData)
	if !ok {
		sock.Disconnect(true)
		return
	}
	u := data.user // rooms were joined by authenticate
	// The socket ends with its token.
	timer := time.AfterFunc(time.Until(data.expiresAt), func() {
		s.log.Info("socket token expired", "contact_id", u.ID, "sid", sock.Id())
		sock.Disconnect(false)
	})
	s.track(u.ID, sock, true)
	sock.On("disconnect", func(...any) {
		timer.Stop()
		s.track(u.ID, sock, false)
	})
	s.log.Debug("socket connected", "contact_id", u.ID, "pdg", u.IsPDG, "sid", sock.Id(), "recovered", sock.Recovered())
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
func (s *Server) refresh(payload []byte) error {
	var p struct {
		ContactID int64 `json:"contact_id"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("refresh: bad payload: %w", err)
	}
	socks := s.socketsOf(p.ContactID)
	if len(socks) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := s.users.User(ctx, p.ContactID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("refresh contact %d: %w", p.ContactID, err)
	}
	for _, sock := range socks {
		data, _ := sock.Data().(*connData)
		switch {
		case err != nil || data == nil || data.user.TokenVersion != u.TokenVersion:
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
// gets it once. Internal messages (store.UserChanged) update the sockets instead.
func (s *Server) Deliver(m events.Message) error {
	if m.Event == store.UserChanged {
		return s.refresh(m.Payload)
	}
	rooms := make([]sio.Room, len(m.Rooms))
	for i, r := range m.Rooms {
		rooms[i] = sio.Room(r)
	}
	if err := s.io.To(rooms...).Emit(m.Event, m.Payload); err != nil {
		return fmt.Errorf("deliver %s to %v: %w", m.Event, m.Rooms, err)
	}
	if s.obs != nil {
		s.obs.Emitted(m.Event)
	}
	s.log.Info("event emitted", "event", m.Event, "rooms", m.Rooms)
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
}
