package socket

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	sio "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// fanoutAdapter is the in-memory adapter of this process (set with ServerOptions.SetAdapter, the
// library's extension point). Its Broadcast encodes the packet once and hands every socket the
// same pre-encoded packet without a WsPreEncodedFrame. With one, the library's websocket
// transport builds a gorilla PreparedMessage (a map, a frame buffer and a throw-away
// websocket.Conn) for every socket of every broadcast: 27% of the server's CPU at 10,000
// sockets, plus the GC work that garbage causes. Without it each socket's copy is framed in the
// connection's own write buffer: one write(2), no extra allocation.
//
// It keeps no connection state recovery buffer: recovery is off (see Server), so an event
// carries exactly its declared payload and nothing is ever replayed to a socket.
//
// With our websocket transport (wsTransport) the packet's websocket frame is built once too, and
// a socket whose connection is on that transport, past its upgrade, gets the frame's bytes
// written directly (one write(2), nothing allocated per socket); the others (polling, mid-upgrade)
// get the pre-encoded packet through the engine, carrying the same frame.
//
// A broadcast does not call the sockets' outgoing listeners (Socket.OnAnyOutgoing): the server
// registers none, and looking them up was 3% of the server's CPU per delivery (a lock and a cache
// miss per socket).
//
// Rooms and socket bookkeeping stay the library's (the embedded adapter).
type fanoutAdapter struct {
	sio.Adapter

	nsp   sio.Namespace
	ownWS bool // the engine's websocket transport is wsTransport
	// workers is how many goroutines share a broadcast to a big room; 0: GOMAXPROCS.
	workers int

	// version changes after every change of a room's members; bigRooms caches the sockets of
	// the big rooms (the PDG room) as of a version, so that a broadcast to one of them walks a
	// slice instead of looking every socket up in the library's maps.
	version  atomic.Uint64
	mu       sync.Mutex
	bigRooms map[sio.Room]*roomSockets
}

// roomSockets are a room's sockets as of an adapter version.
type roomSockets struct {
	version uint64
	members []member
}

// member is a socket of a cached room with its connection's wsTransport when, as the cache was
// built, the connection was on it past its upgrade (see directTransport), else nil. That stays
// true for the connection's life (a websocket is never upgraded away from), so a broadcast writes
// to the cached transport without looking the connection's transport up again: with thousands of
// sockets those lookups are cache misses (~6% of the server's CPU per delivery at 2,000).
type member struct {
	sock *sio.Socket
	ws   *wsConn
}

// bigRoom is the size from which a room's sockets are cached.
const bigRoom = 256

// fanoutAdapterBuilder is the sio.AdapterConstructor of fanoutAdapter.
type fanoutAdapterBuilder struct {
	ownWS bool
}

func (b fanoutAdapterBuilder) New(nsp sio.Namespace) sio.Adapter {
	base := sio.MakeAdapter()
	a := &fanoutAdapter{Adapter: base, ownWS: b.ownWS}
	base.Prototype(a)
	a.Construct(nsp)
	return a
}

func (a *fanoutAdapter) Construct(nsp sio.Namespace) {
	a.Adapter.Construct(nsp)
	a.nsp = nsp
	a.bigRooms = map[sio.Room]*roomSockets{}
}

// AddAll, Del and DelAll change the rooms, then the version: a broadcast that starts after one
// of them returned sees the change.
func (a *fanoutAdapter) AddAll(id sio.SocketId, rooms *types.Set[sio.Room]) {
	a.Adapter.AddAll(id, rooms)
	a.version.Add(1)
}

func (a *fanoutAdapter) Del(id sio.SocketId, room sio.Room) {
	a.Adapter.Del(id, room)
	a.version.Add(1)
	a.dropCache()
}

func (a *fanoutAdapter) DelAll(id sio.SocketId) {
	a.Adapter.DelAll(id)
	a.version.Add(1)
	a.dropCache()
}

// dropCache forgets the cached rooms, so that they do not keep departed sockets alive.
func (a *fanoutAdapter) dropCache() {
	a.mu.Lock()
	clear(a.bigRooms)
	a.mu.Unlock()
}

// roomSockets returns the sockets of a big room as of now, nil if the room is not big.
func (a *fanoutAdapter) roomSockets(room sio.Room) []member {
	v := a.version.Load()
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.bigRooms[room]; ok && c.version == v {
		return c.members
	}
	delete(a.bigRooms, room)
	ids, ok := a.Rooms().Load(room)
	if !ok || ids.Len() < bigRoom {
		return nil
	}
	all := a.nsp.Sockets()
	members := make([]member, 0, ids.Len())
	for _, id := range ids.Keys() {
		if s, ok := all.Load(id); ok {
			members = append(members, member{sock: s, ws: directTransport(s)})
		}
	}
	a.bigRooms[room] = &roomSockets{version: v, members: members}
	return members
}

// Broadcast sends packet to the matching sockets, each once.
func (a *fanoutAdapter) Broadcast(packet *parser.Packet, opts *sio.BroadcastOptions) {
	var flags sio.BroadcastFlags
	if opts != nil && opts.Flags != nil {
		flags = *opts.Flags
	}
	wo := &sio.WriteOptions{PreEncoded: true, Volatile: flags.Volatile}
	wo.Compress = flags.Compress
	packet.Nsp = a.nsp.Name()
	encoded := a.nsp.Server().Encoder().Encode(packet)
	var frame *sharedFrame
	if a.ownWS && len(encoded) == 1 {
		if sb, ok := encoded[0].(*types.StringBuffer); ok {
			frame = newTextFrame(append([]byte{'4'}, sb.Bytes()...)) // '4': Engine.IO MESSAGE
			wo.WsPreEncodedFrame = frame
		}
	}
	send := func(s *sio.Socket, ws *wsConn) {
		if frame != nil && !flags.Volatile {
			if ws == nil {
				ws = directTransport(s)
			}
			if ws != nil {
				ws.writeFrame(frame.frame)
				return
			}
		}
		s.Client().WriteToEngine(encoded, wo)
	}
	workers := a.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	a.each(opts, workers, send)
}

// writeDirect writes frame to s's connection when it is on wsTransport past its upgrade.
func writeDirect(s *sio.Socket, frame *sharedFrame) bool {
	t := directTransport(s)
	if t == nil {
		return false
	}
	t.writeFrame(frame.frame)
	return true
}

// directTransport returns the websocket connection of s's Engine.IO session when the session is
// open and either ours (wsSession) or on wsTransport past its upgrade (frames may be written to
// it directly), else nil. Once the connection closes, it drops what is written to it.
func directTransport(s *sio.Socket) *wsConn {
	conn := s.Conn()
	if sess, ok := conn.(*wsSession); ok {
		if sess.state.Load() != stateOpen {
			return nil
		}
		return &sess.wsConn
	}
	t, ok := conn.Transport().(*wsTransport)
	if !ok || !t.direct.Load() || conn.ReadyState() != "open" {
		return nil
	}
	return &t.wsConn
}

// each calls fn for every connected socket in opts.Rooms (every socket when empty) and in none
// of opts.Except, once per socket. No set of visited sockets is built: a socket of a later room
// is skipped when an earlier room holds it (the later rooms are user rooms, a few sockets each).
// fn gets the socket's wsTransport when the room cache knows it (see member), else nil.
//
// A big room's sockets are split among up to workers goroutines (see inShards): fn must then be
// safe to call concurrently for different sockets. each returns once fn has returned for every
// socket, so a socket's calls of successive calls of each stay in order.
func (a *fanoutAdapter) each(opts *sio.BroadcastOptions, workers int, fn func(*sio.Socket, *wsConn)) {
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
		if skip(id, except, earlier) {
			return
		}
		if s, ok := sockets.Load(id); ok && s.Connected() {
			fn(s, nil)
		}
	}
	if len(rooms) == 0 {
		a.Sids().Range(func(id sio.SocketId, _ *types.Set[sio.Room]) bool {
			visit(id, nil)
			return true
		})
		return
	}
	type roomSet struct {
		room sio.Room
		ids  *types.Set[sio.SocketId]
	}
	sets := make([]roomSet, 0, len(rooms))
	for _, r := range rooms {
		if ids, ok := a.Rooms().Load(r); ok {
			sets = append(sets, roomSet{r, ids})
		}
	}
	slices.SortFunc(sets, func(x, y roomSet) int { return y.ids.Len() - x.ids.Len() }) // biggest first
	var earlier []*types.Set[sio.SocketId]
	for _, set := range sets {
		if members := a.roomSockets(set.room); members != nil {
			// A big room: its sockets without a lookup each.
			inShards(members, workers, func(m member) {
				if len(except)+len(earlier) > 0 && skip(m.sock.Id(), except, earlier) {
					return
				}
				if m.sock.Connected() {
					fn(m.sock, m.ws)
				}
			})
		} else {
			for _, id := range set.ids.Keys() {
				visit(id, earlier)
			}
		}
		earlier = append(earlier, set.ids)
	}
}

// minShard is the fewest sockets a goroutine of inShards takes: below, starting it costs more
// than it saves.
const minShard = 256

// inShards calls fn for every member, the slice cut into up to workers contiguous shards that
// run concurrently (the caller's goroutine takes the first), and returns when every call has
// returned. A broadcast to a big room is its sockets' write(2) calls, most of their time in the
// kernel: on one goroutine it keeps one core busy while the others may idle, and the last
// socket gets the event a whole loop after the first. A socket is in one shard: its frames are
// written by one goroutine, in order.
func inShards(members []member, workers int, fn func(member)) {
	workers = min(workers, len(members)/minShard)
	if workers <= 1 {
		for _, m := range members {
			fn(m)
		}
		return
	}
	size := (len(members) + workers - 1) / workers
	var wg sync.WaitGroup
	for i := size; i < len(members); i += size {
		shard := members[i:min(i+size, len(members))]
		wg.Go(func() {
			for _, m := range shard {
				fn(m)
			}
		})
	}
	for _, m := range members[:size] {
		fn(m)
	}
	wg.Wait()
}

// skip reports whether id is in one of except or earlier.
func skip(id sio.SocketId, except, earlier []*types.Set[sio.SocketId]) bool {
	for _, set := range except {
		if set.Has(id) {
			return true
		}
	}
	for _, set := range earlier {
		if set.Has(id) {
			return true
		}
	}
	return false
}
