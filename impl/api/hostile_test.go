package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/apptest"
	"github.com/artisan-notify/artisan-notify/impl/testredis"
)

// TestBadRequestMessagesHideInternals: a 400 says what is wrong in the contract's words, never
// the Go decoder's message (strconv.ParseInt, jx offsets, ogen's wrapping).
func TestBadRequestMessagesHideInternals(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	pdg := s.PDG(t)
	const reqs = "/api/notifications/artisan-requests"
	for _, tc := range []struct {
		method, path, contentType, body, want string
	}{
		{"POST", reqs + "/abc/approve", "", "", "id : un entier positif est attendu."},
		{"POST", reqs + "/-1/approve", "", "", "id : un entier positif est attendu."},
		{"POST", reqs + "/99999999999999999999999/reject", "", "", "id : un entier positif est attendu."},
		{"GET", reqs + "?limit=abc", "", "", "limit : un entier entre 1 et 200 est attendu."},
		{"GET", reqs + "?limit=201", "", "", "limit : un entier entre 1 et 200 est attendu."},
		{"POST", "/api/users/auth/login", "application/json", `{"email":`, "Corps JSON invalide : JSON incomplet."},
		{"POST", "/api/users/auth/login", "application/json", `{"email":1,"password":"x"}`, "Corps JSON invalide : valeur du champ email invalide."},
		{"POST", "/api/users/auth/login", "application/json", `{"password":"x"}`, "Corps JSON invalide : le champ email est requis."},
		{"POST", "/api/users/auth/login", "application/json", ``, "Corps JSON requis."},
		{"POST", "/api/users/auth/login", "text/plain", `{}`, "Content-Type application/json attendu."},
		{"POST", "/api/users/auth/login", "", `{}`, "Content-Type application/json attendu."},
		{"POST", "/api/users/auth/login", "application/json", `[]`, "Corps JSON invalide : un objet JSON est attendu."},
		{"POST", "/api/users/auth/login", "application/json", `{"email":"a@b.fr","password":"x"} x`, "Corps JSON invalide : données après l'objet JSON."},
		{"POST", "/api/users/auth/register", "application/json", `{"prenom":"a","nom":"b","email":"a@b.fr","password":"12345678","confirm_password":"12345678","type_compte":"Nope"}`,
			"Corps JSON invalide : type_compte doit valoir Client ou Artisan/Promoteur."},
		{"POST", reqs + "/1/reject", "application/json", `{"reason":5}`, "Corps JSON invalide : valeur du champ reason invalide."},
		{"POST", reqs + "/1/reject", "application/json", `{"reason":"x","` + strings.Repeat("z", 5000) + `":1}`, "Corps JSON invalide : champ inconnu."},
	} {
		t.Run(tc.method+" "+tc.path[:min(len(tc.path), 60)]+" "+tc.body[:min(len(tc.body), 40)], func(t *testing.T) {
			st, _, out := raw(t, tc.method, s.URL+tc.path, pdg.Token, tc.contentType, []byte(tc.body))
			if st != 400 || errorCode(t, out) != "invalid_request" {
				t.Fatalf("HTTP %d %v, want 400 invalid_request", st, out)
			}
			msg := out["error"].(map[string]any)["message"].(string)
			if msg != tc.want {
				t.Errorf("message %q, want %q", msg, tc.want)
			}
		})
	}
}

// TestRegisterRefusesInvisibleAndBidiNames: a name must show at least one letter and may not
// carry bidirectional overrides or isolates, which would reorder what a PDG reads around it.
func TestRegisterRefusesInvisibleAndBidiNames(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	c := s.Client(t, "")
	register := func(prenom, nom string) error {
		_, err := c.Register(bg, &oas.RegisterRequest{Prenom: prenom, Nom: nom, Email: apptest.Email("name"),
			Password: "motdepasse1", ConfirmPassword: "motdepasse1", TypeCompte: oas.AccountTypeClient})
		return err
	}
	for _, bad := range []string{
		"\u200b\u200b", "\u202e", "\u200b", "\u2060\ufeff", "\u00a0\u00a0", "- . '", "123",
		"Ali\u202ece", "\u202aAmina", "Amina\u202c", "\u2066Amina\u2069", "Am\u2067ina", "Am\u2068ina",
		"Amina\u202d",
	} {
		for _, field := range []string{"prenom", "nom"} {
			prenom, nom := "Amina", "Diallo"
			if field == "prenom" {
				prenom = bad
			} else {
				nom = bad
			}
			if st, code := apptest.StatusOf(t, register(prenom, nom)); st != 400 || code != "invalid_request" {
				t.Errorf("%s %q: HTTP %d %s, want 400 invalid_request", field, bad, st, code)
			}
		}
	}
	for _, good := range []string{"Amina", "Zoë", "O'Brien", "Jean-Luc", "李", "محمد", "N\u200dgozi", "Ngoc Anh"} {
		if err := register(good, good); err != nil {
			t.Errorf("name %q refused: %v", good, err)
		}
	}
}

// post sends a JSON login or register body from client address ip (through the trusted proxy
// 127.0.0.1, X-Forwarded-For).
func post(t *testing.T, url, ip string, body any) (int, http.Header) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header
}

func creds(email, password string) map[string]string {
	return map[string]string{"email": email, "password": password}
}

// TestLoginLimitsCountFailuresNotAccounts: failures from other addresses do not lock an account
// out; a failing address is limited on that account; an account under a distributed attack is
// slowed, yet its owner logs in from an address that has not failed.
func TestLoginLimitsCountFailuresNotAccounts(t *testing.T) {
	t.Parallel()
	t.Run("per node", func(t *testing.T) {
		t.Parallel()
		loginLimits(t, nil)
	})
	t.Run("shared through Redis", func(t *testing.T) {
		t.Parallel()
		loginLimits(t, map[string]string{"REDIS_URL": testredis.Start(t).URL})
	})
}

func loginLimits(t *testing.T, env map[string]string) {
	// P = 2: 2 attempts per address a minute, 2 failures per (account, address) per 10 minutes,
	// 20 failures per account per 10 minutes.
	vars := map[string]string{"RATE_LIMIT_AUTH_PER_MINUTE": "2", "TRUSTED_PROXIES": "127.0.0.1/32"}
	maps.Copy(vars, env)
	s := apptest.Start(t, vars)
	victim := s.Register(t, "Victim", "Client")
	login, register := s.URL+"/api/users/auth/login", s.URL+"/api/users/auth/register"

	// 22 failures from 22 addresses: the account's 20, and 2 more (from addresses that have not
	// failed: they still get their 401, slowed).
	for i := range 22 {
		if st, _ := post(t, login, fmt.Sprintf("198.51.100.%d", i), creds(victim.User.Email, "wrong-password")); st != 401 {
			t.Fatalf("failure from address %d: HTTP %d, want 401", i, st)
		}
	}
	// An address that has failed on the attacked account is refused on it.
	st, h := post(t, login, "198.51.100.0", creds(victim.User.Email, "wrong-password"))
	if st != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("a failing address on the attacked account: HTTP %d (Retry-After %q), want 429", st, h.Get("Retry-After"))
	}
	// The owner, from an address that has not failed, still logs in, slowed.
	start := time.Now()
	if st, _ := post(t, login, "203.0.113.7", creds(victim.User.Email, apptest.Password)); st != 200 {
		t.Fatalf("the owner from a clean address: HTTP %d, want 200", st)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("login on an account under attack took %v, want it slowed by about a second", d)
	}
	// Failures on one account do not slow another: a failure on another account from an
	// attacker's address takes about as long as one from a clean address (the password check
	// itself, slow under the race detector and a loaded machine), far from the second of delay.
	start = time.Now()
	if st, _ := post(t, login, "203.0.113.8", creds(apptest.Email("nobody-clean"), "wrong-password")); st != 401 {
		t.Fatalf("an unknown account from a clean address: HTTP %d, want 401", st)
	}
	baseline := time.Since(start)
	start = time.Now()
	if st, _ := post(t, login, "198.51.100.1", creds(apptest.Email("nobody"), "wrong-password")); st != 401 || time.Since(start) > baseline+600*time.Millisecond {
		t.Fatalf("another account from an attacker's address: HTTP %d after %v (a clean address: %v), want 401 without the delay", st, time.Since(start), baseline)
	}
	// Registration has its own budget, and the attacked email is not locked there either.
	for i := range 2 {
		if st, _ := post(t, register, "203.0.113.7", map[string]string{"prenom": "A", "nom": "B", "email": victim.User.Email,
			"password": "motdepasse1", "confirm_password": "motdepasse1", "type_compte": "Client"}); st != 409 {
			t.Fatalf("register %d with the attacked email: HTTP %d, want 409", i+1, st)
		}
	}
	// A success does not count as a failure: an address logs in again and again up to the
	// per-address limit, and is then limited per address, as any attacker.
	other := s.Register(t, "Other", "Client")
	for range 2 {
		if st, _ := post(t, login, "192.0.2.1", creds(other.User.Email, apptest.Password)); st != 200 {
			t.Fatalf("login: HTTP %d, want 200", st)
		}
	}
	if st, _ := post(t, login, "192.0.2.1", creds(other.User.Email, apptest.Password)); st != 429 {
		t.Fatalf("third attempt in a minute from one address: HTTP %d, want 429", st)
	}
}

// TestIPv6ClientsAreLimitedByTheirSlash64: an IPv6 client cannot escape the per-address limit by
// rotating through the addresses of its /64; another /64 has its own budget; an IPv4-mapped
// address counts as the IPv4 address.
func TestIPv6ClientsAreLimitedByTheirSlash64(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, map[string]string{"RATE_LIMIT_AUTH_PER_MINUTE": "3", "TRUSTED_PROXIES": "127.0.0.1/32"})
	login := s.URL + "/api/users/auth/login"
	for i := range 3 {
		if st, _ := post(t, login, fmt.Sprintf("2001:db8:1:2::%x", i+1), creds(apptest.Email("v6"), "motdepasse1")); st != 401 {
			t.Fatalf("attempt %d: HTTP %d, want 401", i+1, st)
		}
	}
	if st, _ := post(t, login, "2001:db8:1:2:ffff:1:2:3", creds(apptest.Email("v6"), "motdepasse1")); st != 429 {
		t.Fatalf("4th attempt from the same /64: HTTP %d, want 429", st)
	}
	if st, _ := post(t, login, "2001:db8:1:3::1", creds(apptest.Email("v6"), "motdepasse1")); st != 401 {
		t.Fatalf("another /64: HTTP %d, want 401", st)
	}
	for range 3 {
		post(t, login, "192.0.2.9", creds(apptest.Email("v4"), "motdepasse1"))
	}
	if st, _ := post(t, login, "::ffff:192.0.2.9", creds(apptest.Email("v4"), "motdepasse1")); st != 429 {
		t.Fatalf("IPv4-mapped form of a limited IPv4 address: HTTP %d, want 429", st)
	}
}
