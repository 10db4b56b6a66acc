package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// newHTTPClient returns a client whose transport keeps up to conns keep-alive connections to one host and opens no
// more than conns at once (0: unbounded).
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        max(conns, 100),
			MaxIdleConnsPerHost: max(conns, 100),
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// api calls the contract's REST endpoints.
type api struct {
	base string
	hc   *http.Client
}

// statusError is a non-2xx answer.
type statusError struct {
	Method, Path string
	Status       int
	Body         string
	RetryAfter   time.Duration // from Retry-After (seconds), 0 when absent
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.Status, e.Body)
}

// call sends in as JSON (if not nil) and decodes a 2xx body into out (if not nil). It returns the status and a
// *statusError for a non-2xx answer.
func (a *api) call(ctx context.Context, method, path, token string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_, _ = io.Copy(io.Discard, resp.Body)
		se := &statusError{Method: method, Path: path, Status: resp.StatusCode, Body: string(bytes.TrimSpace(b))}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			se.RetryAfter = time.Duration(secs) * time.Second
		}
		return resp.StatusCode, se
	}
	if out != nil {
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// get sends a bodyless GET and discards a 2xx body: the cheapest request, for the read scenarios.
func (a *api) get(ctx context.Context, path, token string) (int, error) {
	return a.call(ctx, http.MethodGet, path, token, nil, nil)
}

type authResponse struct {
	Token string `json:"token"`
	User  struct {
		ID    int64 `json:"id"`
		IsPDG bool  `json:"is_pdg"`
	} `json:"user"`
}

type artisanRequest struct {
	ContactID int64 `json:"contact_id"`
}

type listResponse struct {
	Requests []artisanRequest `json:"requests"`
	Count    int              `json:"count"`
}

const (
	typeClient  = "Client"
	typeArtisan = "Artisan/Promoteur"
	benchPass   = "bench-password-1"
)

func (a *api) register(ctx context.Context, email, typeCompte string) (authResponse, int, error) {
	var r authResponse
	st, err := a.call(ctx, http.MethodPost, "/api/users/auth/register", "", map[string]string{
		"prenom": "Bench", "nom": "User", "email": email, "password": benchPass,
		"confirm_password": benchPass, "type_compte": typeCompte,
	}, &r)
	return r, st, err
}

func (a *api) login(ctx context.Context, email string) (authResponse, error) {
	var r authResponse
	_, err := a.call(ctx, http.MethodPost, "/api/users/auth/login", "",
		map[string]string{"email": email, "password": benchPass}, &r)
	return r, err
}

const (
	pathCount = "/api/notifications/artisan-requests/count"
	pathList  = "/api/notifications/artisan-requests"
)

func (a *api) count(ctx context.Context, token string) (int, error) {
	var r struct {
		Count int `json:"count"`
	}
	_, err := a.call(ctx, http.MethodGet, pathCount, token, nil, &r)
	return r.Count, err
}

func (a *api) list(ctx context.Context, token string, limit int) (listResponse, error) {
	var r listResponse
	_, err := a.call(ctx, http.MethodGet, pathList+"?limit="+strconv.Itoa(limit), token, nil, &r)
	return r, err
}

// decide approves or rejects request id (action "approve" or "reject") and returns the status.
func (a *api) decide(ctx context.Context, token string, id int64, action string) (int, error) {
	return a.call(ctx, http.MethodPost, pathList+"/"+strconv.FormatInt(id, 10)+"/"+action, token, nil, nil)
}

// session is the bench's state on one target: a PDG account and a counter for unique emails.
type session struct {
	t        *Target
	api      *api
	runID    string
	seq      atomic.Int64
	pdgEmail string
	pdgToken string
}

func (s *session) newEmail() string {
	return fmt.Sprintf("bench-%s-%d@bench.example.com", s.runID, s.seq.Add(1))
}

// setupPDG registers a user, makes it PDG with the grant command and logs in again for a fresh token. It returns
// an error if any step fails or the login does not report is_pdg.
func (s *session) setupPDG(ctx context.Context) error {
	s.pdgEmail = s.newEmail()
	if _, _, err := s.api.register(ctx, s.pdgEmail, typeClient); err != nil {
		return fmt.Errorf("register PDG: %w", err)
	}
	if err := s.t.grantPDG(ctx, s.pdgEmail); err != nil {
		return err
	}
	r, err := s.api.login(ctx, s.pdgEmail)
	if err != nil {
		return fmt.Errorf("login PDG: %w", err)
	}
	if !r.User.IsPDG {
		return fmt.Errorf("login PDG: user.is_pdg is false after the grant command")
	}
	s.pdgToken = r.Token
	return nil
}

// registerMany registers n users of typeCompte with conc workers. It returns the first error.
func (s *session) registerMany(ctx context.Context, n, conc int, typeCompte string) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if _, _, err := s.api.register(ctx, s.newEmail(), typeCompte); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// maxList is the contract's largest ?limit.
const maxList = 200

// setPending makes the number of pending artisan requests exactly n (registering Artisan/Promoteur users or
// rejecting the surplus) and returns their contact ids. n is at most maxList.
func (s *session) setPending(ctx context.Context, n int) ([]int64, error) {
	if n > maxList {
		return nil, fmt.Errorf("at most %d pending requests per batch, asked %d", maxList, n)
	}
	for range 50 {
		c, err := s.api.count(ctx, s.pdgToken)
		if err != nil {
			return nil, err
		}
		switch {
		case c < n:
			if err := s.registerMany(ctx, n-c, 8, typeArtisan); err != nil {
				return nil, err
			}
		case c > n:
			l, err := s.api.list(ctx, s.pdgToken, maxList)
			if err != nil {
				return nil, err
			}
			surplus := l.Requests[:min(c-n, len(l.Requests))]
			for _, r := range surplus {
				if st, err := s.api.decide(ctx, s.pdgToken, r.ContactID, "reject"); err != nil && st != 409 {
					return nil, err
				}
			}
		default:
			l, err := s.api.list(ctx, s.pdgToken, maxList)
			if err != nil {
				return nil, err
			}
			if len(l.Requests) != n {
				return nil, fmt.Errorf("count says %d pending, list returned %d", n, len(l.Requests))
			}
			ids := make([]int64, n)
			for i, r := range l.Requests {
				ids[i] = r.ContactID
			}
			return ids, nil
		}
	}
	return nil, fmt.Errorf("could not reach %d pending requests", n)
}
