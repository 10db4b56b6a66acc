package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/apptest"
)

// codeOfStatus is the contract's table of error codes.
var codeOfStatus = map[int]string{
	400: "invalid_request",
	401: "unauthorized",
	403: "forbidden",
	404: "not_found",
	405: "method_not_allowed",
	409: "conflict",
	413: "payload_too_large",
	429: "rate_limited",
}

// FuzzHostileRequests sends hostile input where clients put data: the JSON bodies of register
// and login, the request id in the path, and the bearer token. The server never fails (5xx),
// and every refusal is the contract's error shape with the code of its status.
func FuzzHostileRequests(f *testing.F) {
	s := apptest.Start(f, nil)
	pdg := s.PDG(f).Token
	artisan := s.Register(f, "Artisan", "Artisan/Promoteur")
	valid := func(email string) []byte {
		return []byte(`{"prenom":"Amina","nom":"Diallo","email":"` + email + `","password":"correct horse battery",` +
			`"confirm_password":"correct horse battery","type_compte":"Artisan/Promoteur"}`)
	}
	for _, seed := range []struct {
		body []byte
		id   string
	}{
		{valid("fuzz@example.com"), "1"},
		// the artisan's request approved, then rejected: a 409 with the decision (its own fields)
		{[]byte(`{"reason":"Pièces manquantes"}`), strconv.FormatInt(artisan.User.ID, 10)},
		{valid(artisan.User.Email), "0"}, // taken email
		{[]byte(`{"email":"` + artisan.User.Email + `","password":"` + apptest.Password + `"}`), "-1"},
		{[]byte(strings.Repeat(`{"prenom":`, 10_000) + strings.Repeat("}", 10_000)), "007"},
		{[]byte(strings.Repeat("[", 100_000)), "1e3"},
		{[]byte("{\"prenom\":\"\xff\xfe\",\"nom\":\"\xc3\x28\",\"email\":\"a\xffb@example.com\",\"password\":\"\xed\xa0\x80\xed\xa0\x80\xed\xa0\x80\xed\xa0\x80\"}"), "\xff"},
		{[]byte(`{"prenom":1e999999,"nom":-0,"email":123456789012345678901234567890,"password":1.7976931348623157e309}`), "9223372036854775808"},
		{[]byte(`{"prenom":null,"nom":null,"email":null,"password":null,"confirm_password":null,"type_compte":null}`), "null"},
		{[]byte(`{"prenom":"Robert'); DROP TABLE contacts;--","nom":"\" OR 1=1 --","email":"x'--@example.com","password":"' OR ''='","confirm_password":"' OR ''='","type_compte":"Client"}`), "1 OR 1=1"},
		{[]byte(`{"email":"a@example.com","password":"x","email":"b@example.com"}`), "1;--"},
		{[]byte(`{"prenom":"A\u0000B","nom":"\u202e","email":"A@EXAMPLE.COM ","password":"` + strings.Repeat("é", 129) + `","type_compte":"PDG"}`), "%00"},
		{[]byte(""), ""},
		{[]byte("null"), ".."},
		{nil, pdg},
		{[]byte(`[]`), "Bearer " + pdg},
		{[]byte(`{"a":"` + strings.Repeat("x", 20_000) + `"}`), strings.Repeat("9", 5000)},
	} {
		f.Add(seed.body, seed.id)
	}

	f.Fuzz(func(t *testing.T, body []byte, text string) {
		for _, r := range []struct {
			method, path, token string
			body                []byte
		}{
			{"POST", "/api/users/auth/register", "", body},
			{"POST", "/api/users/auth/login", "", body},
			{"POST", "/api/notifications/artisan-requests/" + url.PathEscape(text) + "/approve", pdg, nil},
			{"POST", "/api/notifications/artisan-requests/" + url.PathEscape(text) + "/reject", pdg, body},
			{"GET", "/api/users/me", text, nil},
			{"POST", "/api/notifications/artisan-requests/1/approve", text, nil},
		} {
			if r.token != "" && !validHeaderValue(r.token) {
				continue // no client can send it
			}
			checkAnswer(t, s.URL, r.method, r.path, r.token, r.body)
		}
	})
}

// checkAnswer sends one request and checks the answer against the contract. It follows
// redirects (net/http's ServeMux redirects unclean paths such as "a//b" with 307), as browsers do.
func checkAnswer(tb testing.TB, base, method, path, token string, body []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("%s %q: %v", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %q: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %q: read body: %v", method, path, err)
	}
	what := method + " " + path
	switch st := res.StatusCode; {
	case st >= 500:
		tb.Fatalf("%s: %d %s (body %.200q, token %.100q)", what, st, b, body, token)
	case st >= 200 && st < 300:
		if !json.Valid(b) {
			tb.Fatalf("%s: %d with a body that is not JSON: %.300q", what, st, b)
		}
	default:
		var e struct {
			Error struct {
				Code     string    `json:"code"`
				Message  string    `json:"message"`
				Decision *struct { // a 409 on a decided request: what was decided
					ContactID int64  `json:"contact_id"`
					Status    string `json:"status"`
					DecidedBy *struct {
						ID   int64  `json:"id"`
						Name string `json:"name"`
					} `json:"decided_by"`
					DecidedAt string  `json:"decided_at"`
					Reason    *string `json:"reason"`
				} `json:"decision"`
			} `json:"error"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || e.Error.Message == "" {
			tb.Fatalf("%s: %d without the contract's error shape (%v): %.300q", what, st, err, b)
		}
		if d := e.Error.Decision; d != nil && (st != 409 || d.ContactID <= 0 || (d.Status != "approved" && d.Status != "rejected") || d.DecidedAt == "") {
			tb.Fatalf("%s: %d with a decision that is not the contract's: %.300q", what, st, b)
		}
		want, known := codeOfStatus[st]
		if !known || e.Error.Code != want {
			tb.Fatalf("%s: status %d with code %q, want %q", what, st, e.Error.Code, want)
		}
	}
}

// validHeaderValue reports whether Go's client would send v in a header (no control characters
// but tab), which is all a real client could send.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
