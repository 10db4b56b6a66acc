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
			opts := sioclient.DefaultOptions()
			opts.SetAuth(map[string]any{"token": auth.Token})
			opts.SetTransports(types.NewSet(transportOf(transport)))
			opts.SetReconnection(false)
			opts.SetForceNew(true) // one connection per subtest, not a shared manager
			socket, err := sioclient.Connect(srv.URL, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer socket.Disconnect()
			connected := make(chan struct{}, 1)
			news := make(chan events.ArtisanRequestNew, 1)
			approved := make(chan events.ArtisanRequestApproved, 1)
			socket.On("connect", func(...any) { connected <- struct{}{} })
			socket.On(events.EventArtisanRequestNew, func(args ...any) { news <- decodeArg[events.ArtisanRequestNew](t, args) })
			socket.On(events.EventArtisanRequestApproved, func(args ...any) {
				approved <- decodeArg[events.ArtisanRequestApproved](t, args)
			})
			select {
			case <-connected:
			case <-time.After(10 * time.Second):
				t.Fatal("the Go Socket.IO client did not connect")
			}

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
