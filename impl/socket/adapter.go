package socket

import (
	"slices"

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
// Rooms and socket bookkeeping stay the library's (the embedded adapter).
type fanoutAdapter struct {
	sio.Adapter

	nsp sio.Namespace
}

// fanoutAdapterBuilder is the sio.AdapterConstructor of fanoutAdapter.
type fanoutAdapterBuilder struct{}

func (fanoutAdapterBuilder) New(nsp sio.Namespace) sio.Adapter {
	base := sio.MakeAdapter()
	a := &fanoutAdapter{Adapter: base}
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
