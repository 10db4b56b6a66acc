package socket

import (
	"slices"
	"sync"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	sio "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
	"github.com/zishang520/socket.io/v3/pkg/utils"
)

// fanoutAdapter is the in-memory adapter of this process (set with ServerOptions.SetAdapter, the
// library's extension point) with two differences from the library's session-aware adapter:
//
//   - Broadcast encodes the packet once and hands every socket the same pre-encoded packet
//     without a WsPreEncodedFrame. With one, the library's websocket transport builds a gorilla
//     PreparedMessage (a map, a frame buffer and a throw-away websocket.Conn) for every socket of
//     every broadcast: 27% of the server's CPU at 10,000 sockets, plus the GC work that garbage
//     causes. Without it each socket's copy is framed in the connection's own write buffer: one
//     write(2), no extra allocation.
//   - The connection state recovery buffer (the packets a disconnected socket may recover) is
//     kept here, pruned as it goes, instead of by a goroutine timer.
//
// Rooms and socket bookkeeping stay the library's (the embedded adapter).
type fanoutAdapter struct {
	sio.Adapter

	nsp    sio.Namespace
	window int64 // recovery window in ms; 0: no recovery buffer

	mu       sync.Mutex
	sessions map[sio.PrivateSessionId]*sio.SessionWithTimestamp
	packets  []*sio.PersistedPacket // oldest first
}

// fanoutAdapterBuilder is the sio.AdapterConstructor of fanoutAdapter.
type fanoutAdapterBuilder struct {
	window time.Duration
}

func (b fanoutAdapterBuilder) New(nsp sio.Namespace) sio.Adapter {
	base := sio.MakeAdapter()
	a := &fanoutAdapter{Adapter: base, window: b.window.Milliseconds(), sessions: map[sio.PrivateSessionId]*sio.SessionWithTimestamp{}}
	base.Prototype(a)
	a.Construct(nsp)
	return a
}

func (a *fanoutAdapter) Construct(nsp sio.Namespace) {
	a.Adapter.Construct(nsp)
	a.nsp = nsp
}

// Broadcast sends packet to the matching sockets, each once.
func (a *fanoutAdapter) Broadcast(packet *parser.Packet, opts *sio.BroadcastOptions) {
	var flags sio.BroadcastFlags
	if opts != nil && opts.Flags != nil {
		flags = *opts.Flags
	}
	if a.window > 0 && packet.Type == parser.EVENT && packet.Id == nil && !flags.Volatile {
		a.persist(packet, opts)
	}
	wo := &sio.WriteOptions{PreEncoded: true, Volatile: flags.Volatile}
	wo.Compress = flags.Compress
	packet.Nsp = a.nsp.Name()
	encoded := a.nsp.Server().Encoder().Encode(packet)
	a.each(opts, func(s *sio.Socket) {
		if notify := s.NotifyOutgoingListeners(); notify != nil {
			notify(packet)
		}
		s.Client().WriteToEngine(encoded, wo)
	})
}

// each calls fn for every connected socket in opts.Rooms (every socket when empty) and in none
// of opts.Except, once per socket. No set of visited sockets is built: a socket of a later room
// is skipped when an earlier room holds it (the later rooms are user rooms, a few sockets each).
func (a *fanoutAdapter) each(opts *sio.BroadcastOptions, fn func(*sio.Socket)) {
	var rooms []sio.Room
	var except []*types.Set[sio.SocketId]
	if opts != nil {
		if opts.Rooms != nil {
			rooms = opts.Rooms.Keys()
		}
		if opts.Except != nil {
			for _, r := range opts.Except.Keys() {
				if ids, ok := a.Rooms().Load(r); ok {
					except = append(except, ids)
				}
			}
		}
	}
	sockets := a.nsp.Sockets()
	visit := func(id sio.SocketId, earlier []*types.Set[sio.SocketId]) {
		for _, set := range except {
			if set.Has(id) {
				return
			}
		}
		for _, set := range earlier {
			if set.Has(id) {
				return
			}
		}
		if s, ok := sockets.Load(id); ok && s.Connected() {
			fn(s)
		}
	}
	if len(rooms) == 0 {
		a.Sids().Range(func(id sio.SocketId, _ *types.Set[sio.Room]) bool {
			visit(id, nil)
			return true
		})
		return
	}
	sets := make([]*types.Set[sio.SocketId], 0, len(rooms))
	for _, r := range rooms {
		if ids, ok := a.Rooms().Load(r); ok {
			sets = append(sets, ids)
		}
	}
	slices.SortFunc(sets, func(x, y *types.Set[sio.SocketId]) int { return y.Len() - x.Len() }) // biggest first
	var earlier []*types.Set[sio.SocketId]
	for _, ids := range sets {
		for _, id := range ids.Keys() {
			visit(id, earlier)
		}
		earlier = append(earlier, ids)
	}
}

// persist appends the packet's recovery offset to its data and keeps it for the recovery window.
func (a *fanoutAdapter) persist(packet *parser.Packet, opts *sio.BroadcastOptions) {
	id := utils.YeastDate()
	data, _ := packet.Data.([]any)
	packet.Data = append(data, id)
	now := time.Now().UnixMilli()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pruneLocked(now)
	a.packets = append(a.packets, &sio.PersistedPacket{Id: id, EmittedAt: now, Data: packet.Data, Opts: opts})
}

// pruneLocked drops the packets and sessions older than the window.
func (a *fanoutAdapter) pruneLocked(now int64) {
	threshold := now - a.window
	i := 0
	for i < len(a.packets) && a.packets[i].EmittedAt < threshold {
		a.packets[i] = nil
		i++
	}
	if i > 0 {
		a.packets = a.packets[i:]
	}
	for pid, s := range a.sessions {
		if s.DisconnectedAt < threshold {
			delete(a.sessions, pid)
		}
	}
}

// PersistSession keeps a disconnected socket's session for the recovery window.
func (a *fanoutAdapter) PersistSession(s *sio.SessionToPersist) {
	if a.window <= 0 {
		return
	}
	now := time.Now().UnixMilli()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pruneLocked(now)
	a.sessions[s.Pid] = &sio.SessionWithTimestamp{SessionToPersist: s, DisconnectedAt: now}
}

// RestoreSession returns the session pid with the packets sent after offset to its rooms, or nil
// when the session or the offset is unknown or too old (the client then connects afresh).
func (a *fanoutAdapter) RestoreSession(pid sio.PrivateSessionId, offset string) (*sio.Session, error) {
	now := time.Now().UnixMilli()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[pid]
	if !ok {
		return nil, nil
	}
	if s.DisconnectedAt+a.window < now {
		return nil, nil
	}
	start := -1
	for i, p := range a.packets {
		if p.Id == offset {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, nil
	}
	missed := []any{}
	for _, p := range a.packets[start:] {
		if includes(s.Rooms, p.Opts) {
			missed = append(missed, p.Data)
		}
	}
	return &sio.Session{SessionToPersist: s.SessionToPersist, MissedPackets: missed}, nil
}

// includes reports whether a socket in rooms gets a packet broadcast with opts.
func includes(rooms *types.Set[sio.Room], opts *sio.BroadcastOptions) bool {
	if opts == nil {
		return true
	}
	in := opts.Rooms == nil || opts.Rooms.Len() == 0
	if rooms == nil {
		return in
	}
	for _, r := range rooms.Keys() {
		if opts.Except != nil && opts.Except.Has(r) {
			return false
		}
		if !in && opts.Rooms.Has(r) {
			in = true
		}
	}
	return in
}
