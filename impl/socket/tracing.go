package socket

import (
	"context"

	sio "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/artisan-notify/artisan-notify/impl/tracing"
)

// traceEmit starts the span of an emit of event to rooms, under the span in ctx (the relay's
// delivery), and returns its context and the function that ends it with the emit's error. The
// span's artisan_notify.sockets_reached is the number of this process's connected sockets in
// the rooms, each counted once, as the membership stands when the emit ends (counted only when
// the span is recorded). With no recording span in ctx nothing is started nor counted.
func (s *Server) traceEmit(ctx context.Context, event string, rooms []sio.Room) (context.Context, func(error)) {
	ctx, span := tracing.Child(ctx, "emit "+event, trace.WithSpanKind(trace.SpanKindProducer))
	if !span.IsRecording() {
		return ctx, func(error) {}
	}
	names := make([]string, len(rooms))
	for i, r := range rooms {
		names[i] = string(r)
	}
	span.SetAttributes(semconv.MessagingOperationTypeSend, semconv.MessagingDestinationName(event),
		attribute.String("artisan_notify.event", event), attribute.StringSlice("artisan_notify.rooms", names))
	return ctx, func(err error) {
		if err == nil {
			span.SetAttributes(attribute.Int("artisan_notify.sockets_reached", s.reach(rooms)))
		}
		tracing.End(span, err)
	}
}

// reach returns the number of this process's connected sockets in rooms, each counted once:
// those a broadcast to rooms reaches.
func (s *Server) reach(rooms []sio.Room) int {
	a, ok := s.io.Sockets().Adapter().(*fanoutAdapter)
	if !ok {
		return -1
	}
	n := 0
	a.each(&sio.BroadcastOptions{Rooms: types.NewSet(rooms...)}, 1, func(*sio.Socket, *wsConn) { n++ })
	return n
}
