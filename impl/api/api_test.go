package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/apptest"
)

var bg = context.Background()

// raw sends a request without the generated client, for inputs it cannot produce.
func raw(t *testing.T, method, url, token, contentType string, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, b)
		}
	}
	return res.StatusCode, res.Header, out
}

// errorCode checks the contract's error shape and returns its code.
func errorCode(t *testing.T, body map[string]any) string {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok || len(body) != 1 {
		t.Fatalf("not the contract's error shape: %v", body)
	}
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if code == "" || msg == "" || len(e) != 2 {
		t.Fatalf("error without code or message: %v", body)
	}
	return code
}

func countContacts(t *testing.T, s *apptest.Server) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(bg, "SELECT count(*) FROM contacts").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegister(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	c := s.Client(t, "")

	t.Run("artisan opens a pending request", func(t *testing.T) {
		email := apptest.Email("Artisan")
		res, err := c.Register(bg, &oas.RegisterRequest{Prenom: " Amina ", Nom: "Diallo", Email: "  " + strings.ToUpper(email) + " ",
			Password: "motdepasse", ConfirmPassword: "motdepasse", TypeCompte: oas.AccountTypeArtisanPromoteur})
		if err != nil {
			t.Fatal(err)
		}
		u := res.User
		if u.ID <= 0 || u.Prenom != "Amina" || u.Nom != "Diallo" || u.Email != strings.ToLower(email) ||
			u.TypeCompte != oas.AccountTypeArtisanPromoteur || !u.DemandeArtisan || u.IsPdg || u.ArtisanStatus.Or("") != oas.ArtisanStatusPending {
			t.Fatalf("user = %+v", u)
		}
		me, err := s.Client(t, res.Token).GetMe(bg)
		if err != nil || me.ID != u.ID {
			t.Fatalf("GetMe with the new token: %+v, %v", me, err)
		}
	})
	t.Run("client opens no request", func(t *testing.T) {
		res := s.Register(t, "Client", "Client")
		if res.User.DemandeArtisan || res.User.ArtisanStatus.Or("") != oas.ArtisanStatusNone {
			t.Fatalf("user = %+v", res.User)
		}
	})
	t.Run("non-ASCII names are kept", func(t *testing.T) {
		res, err := c.Register(bg, &oas.RegisterRequest{Prenom: "Zoé-Chloé", Nom: "N'Guessan 李", Email: apptest.Email("u"),
			Password: "pässwörd€", ConfirmPassword: "pässwörd€", TypeCompte: oas.AccountTypeClient})
		if err != nil || res.User.Prenom != "Zoé-Chloé" || res.User.Nom != "N'Guessan 李" {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	t.Run("email taken is 409, whatever its case", func(t *testing.T) {
		first := s.Register(t, "First", "Client")
		_, err := c.Register(bg, &oas.RegisterRequest{Prenom: "B", Nom: "B", Email: strings.ToUpper(first.User.Email),
			Password: apptest.Password, ConfirmPassword: apptest.Password, TypeCompte: oas.AccountTypeClient})
		if st, code := apptest.StatusOf(t, err); st != 409 || code != "conflict" {
			t.Fatalf("got %d %s", st, code)
		}
	})

	valid := func() map[string]any {
		return map[string]any{"prenom": "A", "nom": "B", "email": apptest.Email("bad"), "password": "12345678",
			"confirm_password": "12345678", "type_compte": "Client"}
	}
	bad := []struct {
		name   string
		change func(m map[string]any)
	}{
		{"passwords differ", func(m map[string]any) { m["confirm_password"] = "12345679" }},
		{"password too short", func(m map[string]any) { m["password"], m["confirm_password"] = "1234567", "1234567" }},
		{"password of 7 characters in 14 bytes", func(m map[string]any) { m["password"], m["confirm_password"] = "ééééééé", "ééééééé" }},
		{"password too long", func(m map[string]any) { p := strings.Repeat("x", 129); m["password"], m["confirm_password"] = p, p }},
		{"bad email", func(m map[string]any) { m["email"] = "not-an-email" }},
		{"email without domain dot", func(m map[string]any) { m["email"] = "a@localhost" }},
		{"email with display name", func(m map[string]any) { m["email"] = "Bob <bob@example.com>" }},
		{"unknown type_compte", func(m map[string]any) { m["type_compte"] = "Admin" }},
		{"missing field", func(m map[string]any) { delete(m, "nom") }},
		{"empty name", func(m map[string]any) { m["prenom"] = "   " }},
		{"very long name", func(m map[string]any) { m["nom"] = strings.Repeat("n", 101) }},
		{"control characters", func(m map[string]any) { m["nom"] = "a\u0000b" }},
		{"wrong type", func(m map[string]any) { m["prenom"] = 42 }},
		{"null field", func(m map[string]any) { m["email"] = nil }},
		{"unknown field", func(m map[string]any) { m["is_pdg"] = true }},
		{"SQL metacharacters in email", func(m map[string]any) { m["email"] = "a'; DROP TABLE contacts;--@x.com" }},
	}
	for _, tc := range bad {
		t.Run("400 "+tc.name, func(t *testing.T) {
			before := countContacts(t, s)
			m := valid()
			tc.change(m)
			body, _ := json.Marshal(m)
			st, _, out := raw(t, "POST", s.URL+"/api/users/auth/register", "", "application/json", body)
			if st != 400 || errorCode(t, out) != "invalid_request" {
				t.Fatalf("got %d %v", st, out)
			}
			if after := countContacts(t, s); after != before {
				t.Fatalf("contacts went from %d to %d", before, after)
			}
		})
	}
	for name, body := range map[string]string{
		"malformed JSON": `{"prenom": "A",`,
		"not an object":  `[1,2,3]`,
		"empty body":     ``,
		"invalid UTF-8":  "{\"prenom\":\"\xff\xfe\",\"nom\":\"B\",\"email\":\"x@y.fr\",\"password\":\"12345678\",\"confirm_password\":\"12345678\",\"type_compte\":\"Client\"}",
		"deeply nested":  strings.Repeat(`{"a":`, 2500) + "1" + strings.Repeat("}", 2500),
	} {
		t.Run("400 "+name, func(t *testing.T) {
			before := countContacts(t, s)
			st, _, out := raw(t, "POST", s.URL+"/api/users/auth/register", "", "application/json", []byte(body))
			if st != 400 || errorCode(t, out) != "invalid_request" {
				t.Fatalf("got %d %v", st, out)
			}
			if after := countContacts(t, s); after != before {
				t.Fatalf("contacts went from %d to %d", before, after)
			}
		})
	}
	t.Run("413 body too large", func(t *testing.T) {
		big := `{"prenom":"` + strings.Repeat("a", 1<<20) + `"}`
		st, _, out := raw(t, "POST", s.URL+"/api/users/auth/register", "", "application/json", []byte(big))
		if st != 413 || errorCode(t, out) != "payload_too_large" {
			t.Fatalf("got %d %v", st, out)
		}
	})
	t.Run("400 wrong content type", func(t *testing.T) {
		st, _, out := raw(t, "POST", s.URL+"/api/users/auth/register", "", "text/plain", []byte(`{}`))
		if st != 400 || errorCode(t, out) != "invalid_request" {
			t.Fatalf("got %d %v", st, out)
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	c := s.Client(t, "")
	u := s.Register(t, "Login", "Client")

	res, err := c.Login(bg, &oas.LoginRequest{Email: "  " + strings.ToUpper(u.User.Email), Password: apptest.Password})
	if err != nil || res.User.ID != u.User.ID || res.Token == "" {
		t.Fatalf("login: %+v, %v", res, err)
	}
	var messages []string
	for name, req := range map[string]*oas.LoginRequest{
		"wrong password":  {Email: u.User.Email, Password: "wrong password"},
		"unknown email":   {Email: apptest.Email("nobody"), Password: apptest.Password},
		"malformed email": {Email: "not an email", Password: apptest.Password},
		"huge password":   {Email: u.User.Email, Password: strings.Repeat("p", 5000)},
		"empty":           {Email: "", Password: ""},
	} {
		_, err := c.Login(bg, req)
		if st, code := apptest.StatusOf(t, err); st != 401 || code != "unauthorized" {
			t.Errorf("%s: got %d %s", name, st, code)
		}
		messages = append(messages, err.Error())
	}
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("answers differ, revealing which credential was wrong: %q vs %q", m, messages[0])
		}
	}
	for name, body := range map[string]string{"missing password": `{"email":"a@b.fr"}`, "malformed": `{"email":`} {
		st, _, out := raw(t, "POST", s.URL+"/api/users/auth/login", "", "application/json", []byte(body))
		if st != 400 || errorCode(t, out) != "invalid_request" {
			t.Errorf("%s: got %d %v", name, st, out)
		}
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	client := s.Register(t, "Client", "Client")
	pdg := s.PDG(t)

	for name, token := range map[string]string{
		"no token":     "",
		"garbage":      "garbage",
		"wrong secret": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.e30",
		"alg none":     "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwfQ.",
		"oversized":    strings.Repeat("a", 8000),
	} {
		for _, path := range []string{"/api/users/me", "/api/notifications/artisan-requests", "/api/notifications/artisan-requests/count"} {
			st, _, out := raw(t, "GET", s.URL+path, token, "", nil)
			if st != 401 || errorCode(t, out) != "unauthorized" {
				t.Errorf("%s %s: got %d %v", name, path, st, out)
			}
		}
		st, _, out := raw(t, "POST", s.URL+"/api/notifications/artisan-requests/1/approve", token, "", nil)
		if st != 401 || errorCode(t, out) != "unauthorized" {
			t.Errorf("%s approve: got %d %v", name, st, out)
		}
	}
	t.Run("403 for a non-PDG", func(t *testing.T) {
		c := s.Client(t, client.Token)
		_, err := c.CountArtisanRequests(bg)
		if st, code := apptest.StatusOf(t, err); st != 403 || code != "forbidden" {
			t.Errorf("count: %d %s", st, code)
		}
		_, err = c.ListArtisanRequests(bg, oas.ListArtisanRequestsParams{})
		if st, _ := apptest.StatusOf(t, err); st != 403 {
			t.Errorf("list: %d", st)
		}
		_, err = c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: 1})
		if st, _ := apptest.StatusOf(t, err); st != 403 {
			t.Errorf("approve: %d", st)
		}
		_, err = c.RejectArtisanRequest(bg, oas.OptRejectRequest{}, oas.RejectArtisanRequestParams{ID: 1})
		if st, _ := apptest.StatusOf(t, err); st != 403 {
			t.Errorf("reject: %d", st)
		}
	})
	t.Run("me", func(t *testing.T) {
		me, err := s.Client(t, pdg.Token).GetMe(bg)
		if err != nil || !me.IsPdg || me.ID != pdg.User.ID {
			t.Fatalf("%+v %v", me, err)
		}
	})
	t.Run("a revoked PDG right takes effect within the relay's delay", func(t *testing.T) {
		other := s.PDG(t)
		c := s.Client(t, other.Token)
		if _, err := c.CountArtisanRequests(bg); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Store.RevokePDG(bg, other.User.Email); err != nil {
			t.Fatal(err)
		}
		// The server learns it through the outbox, within milliseconds, on every node.
		deadline := time.Now().Add(3 * time.Second)
		for {
			_, err := c.CountArtisanRequests(bg)
			st, _ := apptest.StatusOf(t, err)
			if st == 403 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("3 s after revoke: %d, want 403", st)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestArtisanRequests(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	pdgAuth := s.PDG(t)
	pdg := s.Client(t, pdgAuth.Token)

	var ids []int64
	for i := range 3 {
		ids = append(ids, s.Register(t, fmt.Sprintf("Artisan%d", i), "Artisan/Promoteur").User.ID)
	}
	s.Register(t, "Client", "Client")

	n, err := pdg.CountArtisanRequests(bg)
	if err != nil || n.Count != 3 {
		t.Fatalf("count = %+v, %v", n, err)
	}
	list, err := pdg.ListArtisanRequests(bg, oas.ListArtisanRequestsParams{})
	if err != nil || list.Count != 3 || len(list.Requests) != 3 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for i, r := range list.Requests { // newest first: the reverse of registration order
		if r.ContactID != ids[2-i] || r.NomComplet != r.Prenom+" "+r.Nom || r.TypeCompte != oas.AccountTypeArtisanPromoteur ||
			time.Since(r.CreatedAt) > time.Minute || r.CreatedAt.Location() != time.UTC {
			t.Errorf("request %d = %+v", i, r)
		}
	}
	page, err := pdg.ListArtisanRequests(bg, oas.ListArtisanRequestsParams{Limit: oas.NewOptInt32(2)})
	if err != nil || page.Count != 3 || len(page.Requests) != 2 || page.Requests[0].ContactID != ids[2] {
		t.Fatalf("page = %+v, %v", page, err)
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=abc", "limit=-1"} {
		st, _, out := raw(t, "GET", s.URL+"/api/notifications/artisan-requests?"+q, pdgAuth.Token, "", nil)
		if st != 400 || errorCode(t, out) != "invalid_request" {
			t.Errorf("%s: %d %v", q, st, out)
		}
	}

	approved, err := pdg.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: ids[0]})
	if err != nil || approved.ContactID != ids[0] || approved.NomComplet != "Artisan0 Test" || approved.Status != "approved" || approved.Email == "" {
		t.Fatalf("approve = %+v, %v", approved, err)
	}
	rejected, err := pdg.RejectArtisanRequest(bg, oas.NewOptRejectRequest(oas.RejectRequest{Reason: oas.NewOptString("Dossier incomplet")}),
		oas.RejectArtisanRequestParams{ID: ids[1]})
	if err != nil || *rejected != (oas.RejectResponse{ContactID: ids[1], Status: "rejected"}) {
		t.Fatalf("reject = %+v, %v", rejected, err)
	}
	var status, reason string
	var demande bool
	if err := s.Pool.QueryRow(bg, "SELECT status, decision_reason, status = 'pending' FROM artisan_requests WHERE contact_id = $1", ids[1]).Scan(&status, &reason, &demande); err != nil ||
		status != "rejected" || reason != "Dossier incomplet" || demande {
		t.Fatalf("stored rejection: %s %q %v %v", status, reason, demande, err)
	}
	// Reject without a body.
	if _, err := pdg.RejectArtisanRequest(bg, oas.OptRejectRequest{}, oas.RejectArtisanRequestParams{ID: ids[2]}); err != nil {
		t.Fatalf("reject without body: %v", err)
	}
	if n, _ := pdg.CountArtisanRequests(bg); n.Count != 0 {
		t.Fatalf("count after decisions = %d", n.Count)
	}
	me, err := s.Client(t, "").Login(bg, &oas.LoginRequest{Email: approved.Email, Password: apptest.Password})
	if err != nil || me.User.TypeCompte != oas.AccountTypeArtisanPromoteur || me.User.DemandeArtisan || me.User.ArtisanStatus.Or("") != oas.ArtisanStatusApproved {
		t.Fatalf("approved user = %+v, %v", me, err)
	}

	t.Run("409 already decided", func(t *testing.T) {
		_, err := pdg.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: ids[1]})
		if st, code := apptest.StatusOf(t, err); st != 409 || code != "conflict" {
			t.Errorf("approve rejected: %d %s", st, code)
		}
		_, err = pdg.RejectArtisanRequest(bg, oas.OptRejectRequest{}, oas.RejectArtisanRequestParams{ID: ids[0]})
		if st, _ := apptest.StatusOf(t, err); st != 409 {
			t.Errorf("reject approved: %d", st)
		}
	})
	t.Run("404 no such request", func(t *testing.T) {
		client := s.Register(t, "NoRequest", "Client")
		for _, id := range []int64{client.User.ID, 999999999, 9223372036854775807} {
			_, err := pdg.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: id})
			if st, code := apptest.StatusOf(t, err); st != 404 || code != "not_found" {
				t.Errorf("id %d: %d %s", id, st, code)
			}
		}
	})
	t.Run("400 bad ids", func(t *testing.T) {
		for _, id := range []string{"0", "-1", "abc", "1.5", "99999999999999999999", "1%27%20OR%201=1"} {
			for _, op := range []string{"approve", "reject"} {
				st, _, out := raw(t, "POST", s.URL+"/api/notifications/artisan-requests/"+id+"/"+op, pdgAuth.Token, "", nil)
				if st != 400 || errorCode(t, out) != "invalid_request" {
					t.Errorf("%s %s: %d %v", op, id, st, out)
				}
			}
		}
	})
	t.Run("400 bad reject bodies", func(t *testing.T) {
		id := s.Register(t, "Pending", "Artisan/Promoteur").User.ID
		for name, body := range map[string]string{
			"reason too long": `{"reason":"` + strings.Repeat("r", 1001) + `"}`,
			"reason number":   `{"reason":5}`,
			"unknown field":   `{"motif":"x"}`,
			"malformed":       `{"reason":`,
		} {
			st, _, out := raw(t, "POST", fmt.Sprintf("%s/api/notifications/artisan-requests/%d/reject", s.URL, id), pdgAuth.Token, "application/json", []byte(body))
			if st != 400 || errorCode(t, out) != "invalid_request" {
				t.Errorf("%s: %d %v", name, st, out)
			}
		}
		var status string
		if err := s.Pool.QueryRow(bg, "SELECT status FROM artisan_requests WHERE contact_id = $1", id).Scan(&status); err != nil || status != "pending" {
			t.Errorf("request changed by a rejected call: %s %v", status, err)
		}
	})
}

func TestConcurrentDecisionsHaveOneWinner(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	pdgs := []*oas.Client{s.Client(t, s.PDG(t).Token), s.Client(t, s.PDG(t).Token)}
	for round := range 3 {
		id := s.Register(t, fmt.Sprintf("Race%d", round), "Artisan/Promoteur").User.ID
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
		)
		for i := range 20 {
			wg.Go(func() {
				c := pdgs[i%2]
				var err error
				if i%3 == 0 {
					_, err = c.RejectArtisanRequest(bg, oas.OptRejectRequest{}, oas.RejectArtisanRequestParams{ID: id})
				} else {
					_, err = c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: id})
				}
				st := 200
				if err != nil {
					st, _ = apptest.StatusOf(t, err)
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if statuses[200] != 1 || statuses[409] != 19 {
			t.Fatalf("round %d: statuses = %v, want one 200 and 19 409", round, statuses)
		}
		var events int
		if err := s.Pool.QueryRow(bg, "SELECT count(*) FROM outbox WHERE payload->>'contact_id' = $1 AND event <> 'artisan-request:new'", fmt.Sprint(id)).Scan(&events); err != nil || events != 1 {
			t.Fatalf("round %d: %d decision events recorded (%v), want 1", round, events, err)
		}
	}
}

func TestHTTPEdges(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, nil)
	t.Run("404 unknown route", func(t *testing.T) {
		st, _, out := raw(t, "GET", s.URL+"/api/nope", "", "", nil)
		if st != 404 || errorCode(t, out) != "not_found" {
			t.Errorf("%d %v", st, out)
		}
	})
	t.Run("405 wrong method", func(t *testing.T) {
		st, h, out := raw(t, "DELETE", s.URL+"/api/users/me", "", "", nil)
		if st != 405 || errorCode(t, out) != "method_not_allowed" || h.Get("Allow") != "GET" {
			t.Errorf("%d %v %v", st, out, h)
		}
	})
	t.Run("CORS allows exactly FRONTEND_URL with credentials", func(t *testing.T) {
		for origin, want := range map[string]string{apptest.FrontendURL: apptest.FrontendURL, "http://evil.example": ""} {
			req, _ := http.NewRequest("OPTIONS", s.URL+"/api/users/auth/login", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != want {
				t.Errorf("origin %s: allow-origin %q, want %q", origin, got, want)
			}
			if want != "" && res.Header.Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("origin %s: credentials not allowed", origin)
			}
		}
	})
	t.Run("health", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			st, h, out := raw(t, "GET", s.URL+p, "", "", nil)
			if st != 200 || out["status"] != "ok" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: %d %v", p, st, out)
			}
		}
	})
}

func TestAuthRateLimit(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, map[string]string{"RATE_LIMIT_AUTH_PER_MINUTE": "3"})
	body := []byte(`{"email":"someone@example.com","password":"whatever1"}`)
	for i := range 3 {
		if st, _, _ := raw(t, "POST", s.URL+"/api/users/auth/login", "", "application/json", body); st != 401 {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	st, h, out := raw(t, "POST", s.URL+"/api/users/auth/login", "", "application/json", body)
	if st != 429 || errorCode(t, out) != "rate_limited" || h.Get("Retry-After") == "" {
		t.Fatalf("4th attempt: %d %v %v", st, out, h.Get("Retry-After"))
	}
}
