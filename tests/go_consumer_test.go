package tests

// A Go program consuming the contracts, written as a consumer outside this repository would:
// the generated REST client (gen/oas), the generated event payload types (gen/events) and a Go
// Socket.IO client (github.com/zishang520/socket.io/clients/socket/v3), on both transports.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	sioengine "github.com/zishang520/socket.io/clients/engine/v3"
	sioclient "github.com/zishang520/socket.io/clients/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/artisan-notify/artisan-notify/gen/events"
	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// bearer is the consumer's oas.SecuritySource: one token for every operation.
type bearer string

func (b bearer) BearerAuth(context.Context, oas.OperationName) (oas.BearerAuth, error) {
	return oas.BearerAuth{Token: string(b)}, nil
}

func TestGoConsumerRESTClientAndEvents(t *testing.T) {
	srv := proctest.Start(t, apptest.Env(testdb.New(t), "info"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A PDG: registered with the generated client, granted by an operator, logged in.
	anon, err := oas.NewClient(srv.URL, bearer(""))
	if err != nil {
		t.Fatal(err)
	}
	email := uniqueEmail("go-pdg")
	if _, err := anon.Register(ctx, &oas.RegisterRequest{Prenom: "Paul", Nom: "Martin", Email: email,
		Password: "motdepasse1", ConfirmPassword: "motdepasse1", TypeCompte: oas.AccountTypeClient}); err != nil {
		t.Fatalf("register: %v", err)
	}
	operator(t, srv, "grant-pdg", email)
	auth, err := anon.Login(ctx, &oas.LoginRequest{Email: email, Password: "motdepasse1"})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	pdg, err := oas.NewClient(srv.URL, bearer(auth.Token))
	if err != nil {
		t.Fatal(err)
	}

	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			// The events, typed by gen/events, over the Go Socket.IO client.
			connected := make(chan struct{}, 1)
			news := make(chan events.ArtisanRequestNew, 1)
			approved := make(chan events.ArtisanRequestApproved, 1)
			// The Go client (v3.0.6) can lose its engine's "open" against a fast server: Manager.Open
			// starts the connection, then subscribes to "open", so an open that comes in between is
			// missed and no CONNECT is ever sent (the server closes the session at its connect
			// timeout). A Go consumer should retry a connection that does not complete; so do we.
			var socket *sioclient.Socket
			for attempt := 1; socket == nil; attempt++ {
				opts := sioclient.DefaultOptions()
				opts.SetAuth(map[string]any{"token": auth.Token})
				opts.SetTransports(types.NewSet(transportOf(transport)))
				opts.SetReconnection(false)
				opts.SetForceNew(true)     // one connection per attempt, not a shared manager
				opts.SetAutoConnect(false) // the handlers first, then the connection
				s, err := sioclient.Connect(srv.URL, opts)
				if err != nil {
					t.Fatal(err)
				}
				s.On("connect", func(...any) { connected <- struct{}{} })
				s.On(events.EventArtisanRequestNew, func(args ...any) { news <- decodeArg[events.ArtisanRequestNew](t, args) })
				s.On(events.EventArtisanRequestApproved, func(args ...any) {
					approved <- decodeArg[events.ArtisanRequestApproved](t, args)
				})
				s.Connect()
				select {
				case <-connected:
					socket = s
				case <-time.After(3 * time.Second):
					s.Disconnect()
					if attempt == 3 {
						t.Fatal("the Go Socket.IO client did not connect in 3 attempts")
					}
					t.Logf("attempt %d: no connect within 3 s (the client's lost open), again", attempt)
				}
			}
			defer socket.Disconnect()

			applicant, err := anon.Register(ctx, &oas.RegisterRequest{Prenom: "Amina", Nom: "Diallo", Email: uniqueEmail("go-artisan"),
				Password: "motdepasse1", ConfirmPassword: "motdepasse1", TypeCompte: oas.AccountTypeArtisanPromoteur})
			if err != nil {
				t.Fatalf("register an artisan: %v", err)
			}
			select {
			case n := <-news:
				if n.ContactID != applicant.User.ID || n.NomComplet != "Amina Diallo" {
					t.Fatalf("artisan-request:new: %+v, want contact %d", n, applicant.User.ID)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no artisan-request:new")
			}
			if _, err := pdg.ApproveArtisanRequest(ctx, oas.ApproveArtisanRequestParams{ID: applicant.User.ID}); err != nil {
				t.Fatalf("approve: %v", err)
			}
			select {
			case a := <-approved:
				if a.ContactID != applicant.User.ID {
					t.Fatalf("artisan-request:approved: %+v", a)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no artisan-request:approved")
			}
		})
	}
}

func transportOf(name string) sioengine.TransportCtor {
	if name == "polling" {
		return sioclient.Polling
	}
	return sioclient.WebSocket
}

// decodeArg decodes an event's one argument into its generated payload type.
func decodeArg[T any](t *testing.T, args []any) T {
	var v T
	if len(args) != 1 {
		t.Errorf("event with %d arguments, want 1 (the declared payload)", len(args))
		return v
	}
	b, err := json.Marshal(args[0])
	if err == nil {
		err = json.Unmarshal(b, &v)
	}
	if err != nil {
		t.Errorf("decode %T: %v", v, err)
	}
	return v
}
