package domain_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/auth"
	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// fakeStore keeps contacts in memory.
type fakeStore struct {
	users     map[int64]domain.User
	hashes    map[int64]string
	decidedBy map[int64]int64
	reasons   map[int64]*string
	err       error // returned by every method when set
}

func newFakeStore() *fakeStore {
	return &fakeStore{users: map[int64]domain.User{}, hashes: map[int64]string{}, decidedBy: map[int64]int64{}, reasons: map[int64]*string{}}
}

func (f *fakeStore) Ping(context.Context) error { return f.err }

func (f *fakeStore) Register(_ context.Context, c domain.NewContact) (domain.User, error) {
	if f.err != nil {
		return domain.User{}, f.err
	}
	for _, u := range f.users {
		if u.Email == c.Email {
			return domain.User{}, fmt.Errorf("register: %w", domain.ErrEmailTaken)
		}
	}
	status := domain.InitialStatus(c.TypeCompte)
	u := domain.User{ID: int64(len(f.users) + 1), Prenom: c.Prenom, Nom: c.Nom, Email: c.Email, TypeCompte: c.TypeCompte,
		DemandeArtisan: status == domain.StatusPending, ArtisanStatus: status}
	f.users[u.ID], f.hashes[u.ID] = u, c.PasswordHash
	return u, nil
}

func (f *fakeStore) Credentials(_ context.Context, email string) (int64, string, error) {
	if f.err != nil {
		return 0, "", f.err
	}
	for id, u := range f.users {
		if u.Email == email {
			return id, f.hashes[id], nil
		}
	}
	return 0, "", fmt.Errorf("credentials: %w", domain.ErrNotFound)
}

func (f *fakeStore) User(_ context.Context, id int64) (domain.User, error) {
	if f.err != nil {
		return domain.User{}, f.err
	}
	u, ok := f.users[id]
	if !ok {
		return domain.User{}, fmt.Errorf("user: %w", domain.ErrNotFound)
	}
	return u, nil
}

func (f *fakeStore) PendingRequests(context.Context, int32) ([]domain.ArtisanRequest, int64, error) {
	return nil, 0, f.err
}

func (f *fakeStore) CountPending(context.Context) (int64, error) { return 0, f.err }

func (f *fakeStore) Requests(context.Context, domain.RequestQuery) (domain.RequestPage, error) {
	return domain.RequestPage{}, f.err
}

func (f *fakeStore) decide(id, by int64, status domain.ArtisanStatus, reason *string) (domain.Decision, error) {
	u, ok := f.users[id]
	switch {
	case !ok || u.ArtisanStatus == domain.StatusNone:
		return domain.Decision{}, domain.ErrNotFound
	case u.ArtisanStatus != domain.StatusPending:
		return domain.Decision{}, domain.ErrConflict
	}
	u.ArtisanStatus, u.DemandeArtisan = status, false
	f.users[id], f.decidedBy[id], f.reasons[id] = u, by, reason
	return domain.Decision{ContactID: id, NomComplet: domain.FullName(u.Prenom, u.Nom), Email: u.Email}, nil
}

func (f *fakeStore) Approve(_ context.Context, id, by int64) (domain.Decision, error) {
	return f.decide(id, by, domain.StatusApproved, nil)
}

func (f *fakeStore) Reject(_ context.Context, id, by int64, reason *string) (domain.Decision, error) {
	return f.decide(id, by, domain.StatusRejected, reason)
}

func (f *fakeStore) RevokeTokens(_ context.Context, email string) (int64, error) {
	for id, u := range f.users {
		if u.Email == email {
			u.TokenVersion++
			f.users[id] = u
			return id, nil
		}
	}
	return 0, domain.ErrNotFound
}

// fakePasswords "hashes" by prefixing and counts the work done.
type fakePasswords struct {
	hashes, verifies, dummies int
	busy                      bool
}

func (p *fakePasswords) Hash(pw string) (string, error) {
	p.hashes++
	if p.busy {
		return "", auth.ErrBusy
	}
	return "hash:" + pw, nil
}

func (p *fakePasswords) Verify(hash, pw string) error {
	p.verifies++
	switch {
	case p.busy:
		return auth.ErrBusy
	case hash != "hash:"+pw:
		return auth.ErrMismatch
	}
	return nil
}

func (p *fakePasswords) VerifyDummy(string) error {
	p.dummies++
	if p.busy {
		return auth.ErrBusy
	}
	return nil
}

type fakeTokens struct{}

func (fakeTokens) Issue(id int64, version int32) (string, time.Time, error) {
	return fmt.Sprintf("token-%d-%d", id, version), time.Time{}, nil
}

func newService(t *testing.T) (*domain.Service, *fakeStore, *fakePasswords) {
	t.Helper()
	st, pw := newFakeStore(), &fakePasswords{}
	return domain.NewService(st, pw, fakeTokens{}, slog.New(slog.NewTextHandler(io.Discard, nil))), st, pw
}

var ctx = context.Background()

func valid() domain.Registration {
	return domain.Registration{Prenom: " Amina ", Nom: "Diallo", Email: "  Amina@Example.COM ", Password: "correct horse",
		ConfirmPassword: "correct horse", TypeCompte: domain.TypeArtisan}
}

func TestRegistrationRules(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", domain.MaxName+1)
	tests := map[string]struct {
		edit func(*domain.Registration)
		want string // the start of the message; "" for a valid registration
	}{
		"valid":                    {func(*domain.Registration) {}, ""},
		"accented name":            {func(r *domain.Registration) { r.Prenom = "Zoé-Anaïs" }, ""},
		"empty first name":         {func(r *domain.Registration) { r.Prenom = "  " }, "Le prénom est requis"},
		"first name too long":      {func(r *domain.Registration) { r.Prenom = long }, "Le prénom est requis"},
		"name without a letter":    {func(r *domain.Registration) { r.Nom = "\u200b-." }, "Le nom est requis"},
		"name with a bidi control": {func(r *domain.Registration) { r.Nom = "Diallo\u202e" }, "Le nom est requis"},
		"name with a control":      {func(r *domain.Registration) { r.Nom = "Dia\x00llo" }, "Le nom est requis"},
		"email without a domain":   {func(r *domain.Registration) { r.Email = "amina@localhost" }, "Adresse email invalide."},
		"email with a name":        {func(r *domain.Registration) { r.Email = "Amina <amina@example.com>" }, "Adresse email invalide."},
		"password too short":       {func(r *domain.Registration) { r.Password, r.ConfirmPassword = "short", "short" }, "Le mot de passe doit contenir entre 8 et 128"},
		"password too long": {func(r *domain.Registration) {
			r.Password = strings.Repeat("é", domain.MaxPassword+1)
			r.ConfirmPassword = r.Password
		}, "Le mot de passe doit contenir entre 8 et 128"},
		"password not UTF-8":     {func(r *domain.Registration) { r.Password, r.ConfirmPassword = "abc\xffdefgh", "abc\xffdefgh" }, "Le mot de passe contient des caractères invalides."},
		"passwords do not match": {func(r *domain.Registration) { r.ConfirmPassword = "correct horses" }, "Les mots de passe ne correspondent pas."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := valid()
			tc.edit(&r)
			c, err := r.Validate()
			var inv *domain.InvalidError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
				if c.Email != "amina@example.com" || strings.TrimSpace(c.Prenom) != c.Prenom {
					t.Fatalf("not normalized: %+v", c)
				}
			case !errors.As(err, &inv) || !strings.HasPrefix(inv.Message, tc.want):
				t.Fatalf("got %v, want a message starting with %q", err, tc.want)
			}
		})
	}
}

func TestRegisterOpensARequestForArtisans(t *testing.T) {
	t.Parallel()
	svc, _, pw := newService(t)
	s, err := svc.Register(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	if s.User.ArtisanStatus != domain.StatusPending || !s.User.DemandeArtisan || s.Token != "token-1-0" || s.User.Prenom != "Amina" {
		t.Fatalf("got %+v", s)
	}
	client := valid()
	client.Email, client.TypeCompte = "client@example.com", domain.TypeClient
	if s, err := svc.Register(ctx, client); err != nil || s.User.ArtisanStatus != domain.StatusNone {
		t.Fatalf("client: %+v %v", s, err)
	}
	if _, err := svc.Register(ctx, valid()); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("same email again: %v, want ErrEmailTaken", err)
	}
	bad := valid()
	bad.Email = "not an email"
	before := pw.hashes
	if _, err := svc.Register(ctx, bad); err == nil || pw.hashes != before {
		t.Fatalf("an invalid registration was hashed (%v)", err)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	svc, st, pw := newService(t)
	if _, err := svc.Register(ctx, valid()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, password string
		reason                string // "" for a successful login
		dummy                 bool   // the dummy hash did the work
	}{
		{"success, email normalized", " AMINA@example.com", "correct horse", "", false},
		{"wrong password", "amina@example.com", "wrong horse", "wrong password", false},
		{"unknown email", "nobody@example.com", "correct horse", "unknown email", true},
		{"malformed email", "nobody", "correct horse", "malformed credentials", true},
		{"password too long", "amina@example.com", strings.Repeat("x", domain.MaxPassword+1), "malformed credentials", true},
		{"password not UTF-8", "amina@example.com", "\xff", "malformed credentials", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dummies, verifies := pw.dummies, pw.verifies
			s, err := svc.Login(ctx, tc.email, tc.password)
			var bad *domain.BadLoginError
			switch {
			case tc.reason == "" && (err != nil || s.User.ID != 1 || s.Token == ""):
				t.Fatalf("got %+v %v", s, err)
			case tc.reason != "" && (!errors.As(err, &bad) || bad.Reason != tc.reason):
				t.Fatalf("got %v, want a bad login for %s", err, tc.reason)
			}
			if work := pw.dummies - dummies + pw.verifies - verifies; work != 1 {
				t.Fatalf("%d password verifications, want exactly 1 whatever the outcome", work)
			}
			if tc.dummy != (pw.dummies > dummies) {
				t.Fatalf("dummy verification %v, want %v", pw.dummies > dummies, tc.dummy)
			}
		})
	}
	t.Run("a saturated hasher is not a bad login", func(t *testing.T) {
		pw.busy = true
		defer func() { pw.busy = false }()
		for _, email := range []string{"amina@example.com", "nobody@example.com", "nobody"} {
			if _, err := svc.Login(ctx, email, "correct horse"); !errors.Is(err, auth.ErrBusy) {
				t.Fatalf("%s: %v, want ErrBusy", email, err)
			}
		}
	})
	t.Run("the storage down is not a bad login", func(t *testing.T) {
		st.err = fmt.Errorf("get credentials: %w", domain.ErrUnavailable)
		defer func() { st.err = nil }()
		var bad *domain.BadLoginError
		if _, err := svc.Login(ctx, "amina@example.com", "correct horse"); !errors.Is(err, domain.ErrUnavailable) || errors.As(err, &bad) {
			t.Fatalf("%v, want ErrUnavailable", err)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t)
	s, err := svc.Register(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := svc.Authenticate(ctx, s.User.ID, 0); err != nil || u.ID != s.User.ID {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := svc.Authenticate(ctx, 99, 0); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown contact: %v", err)
	}
	if err := svc.Logout(ctx, s.User); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, s.User.ID, 0); !errors.Is(err, domain.ErrRevoked) {
		t.Fatalf("token issued before logout: %v, want ErrRevoked", err)
	}
	if _, err := svc.Authenticate(ctx, s.User.ID, 1); err != nil {
		t.Fatalf("token issued after logout: %v", err)
	}
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	svc, st, _ := newService(t)
	artisan, err := svc.Register(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	pdg := domain.User{ID: 7, IsPDG: true}
	if _, err := svc.Approve(ctx, domain.User{ID: 8}, artisan.User.ID); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("a non-PDG approved: %v", err)
	}
	if _, err := svc.Reject(ctx, domain.User{ID: 8}, artisan.User.ID, nil); !errors.Is(err, domain.ErrForbidden) {
		t.Fatalf("a non-PDG rejected: %v", err)
	}
	long := strings.Repeat("é", domain.MaxReason+1)
	var inv *domain.InvalidError
	if _, err := svc.Reject(ctx, pdg, artisan.User.ID, &long); !errors.As(err, &inv) || inv.Message != "Le motif doit contenir 1000 caractères au plus." {
		t.Fatalf("a reason too long: %v", err)
	}
	blank := "   "
	if _, err := svc.Reject(ctx, pdg, artisan.User.ID, &blank); err != nil {
		t.Fatal(err)
	}
	if st.reasons[artisan.User.ID] != nil || st.decidedBy[artisan.User.ID] != pdg.ID {
		t.Fatalf("a blank reason was stored as %q, by %d", *st.reasons[artisan.User.ID], st.decidedBy[artisan.User.ID])
	}
	if _, err := svc.Approve(ctx, pdg, artisan.User.ID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("decided twice: %v", err)
	}
	if _, err := svc.Approve(ctx, pdg, 99); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("no request: %v", err)
	}
}

func TestRejectReason(t *testing.T) {
	t.Parallel()
	if r, err := domain.RejectReason("  trop tard \n"); err != nil || *r != "trop tard" {
		t.Fatalf("%v %v", r, err)
	}
	if r, err := domain.RejectReason(strings.Repeat("é", domain.MaxReason)); err != nil || r == nil {
		t.Fatalf("1000 characters refused: %v", err)
	}
	if _, err := domain.RejectReason("\xff"); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
}
