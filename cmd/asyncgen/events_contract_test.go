package main

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/events"
)

// recorder is an events.Emitter that keeps what it is given.
type recorder struct {
	got []events.Message
	err error
}

func (r *recorder) Emit(_ context.Context, m events.Message) error {
	r.got = append(r.got, m)
	return r.err
}

var _ events.Emitter = (*recorder)(nil)

// TestGeneratedEvents uses the committed gen/events package: names, rooms and exact JSON payloads.
func TestGeneratedEvents(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name    string
		build   func() (events.Message, error)
		event   string
		rooms   []string
		payload string
	}{
		{"new",
			func() (events.Message, error) {
				return events.NewArtisanRequestNew(events.ArtisanRequestNew{ContactID: 42, Prenom: "Amina", Nom: "Diallo",
					NomComplet: "Amina Diallo", Email: "amina@example.com", TypeCompte: "Artisan/Promoteur",
					CreatedAt: time.Date(2026, 1, 15, 11, 30, 0, 0, paris)})
			},
			"artisan-request:new", []string{"pdg-notifications"},
			`{"contact_id":42,"prenom":"Amina","nom":"Diallo","nom_complet":"Amina Diallo","email":"amina@example.com","type_compte":"Artisan/Promoteur","created_at":"2026-01-15T10:30:00Z"}`},
		{"approved",
			func() (events.Message, error) {
				return events.NewArtisanRequestApproved(events.ArtisanRequestApproved{ContactID: 7, NomComplet: "Amina Diallo", Email: "amina@example.com",
					DecidedBy: events.ArtisanRequestApprovedDecidedBy{ID: 1, Name: "Paul Martin"}, DecidedAt: time.Date(2026, 1, 16, 10, 0, 0, 0, paris)})
			},
			"artisan-request:approved", []string{"pdg-notifications", "user:7"},
			`{"contact_id":7,"nom_complet":"Amina Diallo","email":"amina@example.com","decided_by":{"id":1,"name":"Paul Martin"},"decided_at":"2026-01-16T09:00:00Z"}`},
		{"rejected",
			func() (events.Message, error) {
				return events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: 7,
					DecidedBy: events.ArtisanRequestRejectedDecidedBy{ID: 1, Name: "Paul Martin"}, DecidedAt: time.Date(2026, 1, 16, 9, 0, 0, 0, time.UTC)})
			},
			"artisan-request:rejected", []string{"pdg-notifications", "user:7"},
			`{"contact_id":7,"decided_by":{"id":1,"name":"Paul Martin"},"decided_at":"2026-01-16T09:00:00Z"}`},
		{"rejected with a reason",
			func() (events.Message, error) {
				return events.NewArtisanRequestRejected(events.ArtisanRequestRejected{ContactID: 7,
					DecidedBy: events.ArtisanRequestRejectedDecidedBy{ID: 1, Name: "Paul Martin"}, DecidedAt: time.Date(2026, 1, 16, 9, 0, 0, 0, time.UTC),
					Reason: "Dossier incomplet"})
			},
			"artisan-request:rejected", []string{"pdg-notifications", "user:7"},
			`{"contact_id":7,"decided_by":{"id":1,"name":"Paul Martin"},"decided_at":"2026-01-16T09:00:00Z","reason":"Dossier incomplet"}`},
		{"rights changed",
			func() (events.Message, error) {
				return events.NewUserRightsChanged(events.UserRightsChanged{ContactID: 7, IsPDG: false})
			},
			"user:rights-changed", []string{"user:7"},
			`{"contact_id":7,"is_pdg":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			if m.Event != tt.event || !slices.Equal(m.Rooms, tt.rooms) || string(m.Payload) != tt.payload {
				t.Errorf("got %s %q %s\nwant %s %q %s", m.Event, m.Rooms, m.Payload, tt.event, tt.rooms, tt.payload)
			}
		})
	}
	if events.UserRoom(-3) != "user:-3" || events.RoomPDGNotifications != "pdg-notifications" {
		t.Error("room names")
	}
}

func TestGeneratedEmit(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	if err := events.EmitArtisanRequestRejected(ctx, r, events.ArtisanRequestRejected{ContactID: 9}); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 || r.got[0].Event != events.EventArtisanRequestRejected || !slices.Equal(r.got[0].Rooms, []string{"pdg-notifications", "user:9"}) {
		t.Fatalf("emitted %+v", r.got)
	}

	r.err = errors.New("down")
	if err := events.EmitArtisanRequestApproved(ctx, r, events.ArtisanRequestApproved{ContactID: 1}); !errors.Is(err, r.err) {
		t.Errorf("Emit error not returned: %v", err)
	}

	// A time that JSON cannot hold fails in the constructor, before the emitter is called.
	r = &recorder{}
	err := events.EmitArtisanRequestNew(ctx, r, events.ArtisanRequestNew{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err == nil || len(r.got) != 0 {
		t.Errorf("got err %v and %d emits, want a marshal error and none", err, len(r.got))
	}
}

// TestGeneratedInternalEvents: the internal event between nodes, and the decoders of every event.
func TestGeneratedInternalEvents(t *testing.T) {
	m, err := events.NewInternalUserChanged(events.InternalUserChanged{ContactID: 5})
	if err != nil {
		t.Fatal(err)
	}
	if m.Event != "internal:user-changed" || !slices.Equal(m.Rooms, []string{"user:5"}) || string(m.Payload) != `{"contact_id":5}` {
		t.Errorf("got %s %q %s", m.Event, m.Rooms, m.Payload)
	}
	if !events.IsInternal(m.Event) || events.IsInternal(events.EventArtisanRequestNew) {
		t.Error("IsInternal")
	}
	if p, err := events.DecodeInternalUserChanged(m); err != nil || p.ContactID != 5 {
		t.Errorf("decoded %+v, %v", p, err)
	}
	if _, err := events.DecodeArtisanRequestApproved(m); err == nil {
		t.Error("a message decoded as another event")
	}
	m.Payload = []byte(`{"contact_id":"5"}`)
	if _, err := events.DecodeInternalUserChanged(m); err == nil {
		t.Error("a bad payload decoded")
	}
}
