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
// With our websocket transport (wsTransport) the packet's websocket frame is built once too, and
// a socket whose connection is on that transport, past its upgrade, gets the frame's bytes
// written directly (one write(2), nothing allocated per socket); the others (polling, mid-upgrade)
// get the pre-encoded packet through the engine, carrying the same frame.
//
// Rooms and socket bookkeeping stay the library's (the embedded adapter).
type fanoutAdapter struct {
	sio.Adapter

	nsp   sio.Namespace
	ownWS bool // the engine's websocket transport is wsTransport
}

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
	a.each(opts, func(s *sio.Socket) {
		if notify := s.NotifyOutgoingListeners(); notify != nil {
			notify(packet)
		}
		if frame != nil && !flags.Volatile && writeDirect(s, frame) {
			return
		}
		s.Client().WriteToEngine(encoded, wo)
	})
}

// writeDirect writes frame to s's connection when it is on wsTransport past its upgrade.
func writeDirect(s *sio.Socket, frame *sharedFrame) bool {
	conn := s.Conn()
	t, ok := conn.Transport().(*wsTransport)
	if !ok || !t.direct.Load() || conn.ReadyState() != "open" {
		return false
	}
	t.writeFrame(frame.frame)
	return true
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
