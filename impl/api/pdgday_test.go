package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artisan-notify/artisan-notify/gen/oas"
	"github.com/artisan-notify/artisan-notify/impl/apptest"
)

// day is a server with a PDG, and applicants whose last name carries a tag of the test, so that a
// search on the tag finds them only.
type day struct {
	s     *apptest.Server
	pdg   *oas.AuthResponse
	c     *oas.Client
	tag   string
	ids   []int64 // in registration order
	email map[int64]string
}

func newDay(t *testing.T, applicants int) *day {
	t.Helper()
	s := apptest.Start(t, nil)
	pdg := s.PDG(t)
	d := &day{s: s, pdg: pdg, c: s.Client(t, pdg.Token), tag: fmt.Sprintf("Tag%d", time.Now().UnixNano()%1e9), email: map[int64]string{}}
	for range applicants {
		d.add(t)
	}
	return d
}

// add registers one more applicant (Artisan/Promoteur) and returns its id.
func (d *day) add(t testing.TB) int64 {
	t.Helper()
	res, err := d.s.Client(t, "").Register(bg, &oas.RegisterRequest{Prenom: "Amina", Nom: d.tag + "-Diallo",
		Email: apptest.Email("applicant"), Password: apptest.Password, ConfirmPassword: apptest.Password, TypeCompte: oas.AccountTypeArtisanPromoteur})
	if err != nil {
		t.Fatal(err)
	}
	d.email[res.User.ID] = res.User.Email
	d.ids = append(d.ids, res.User.ID)
	return res.User.ID
}

func (d *day) list(t testing.TB, p oas.ListArtisanRequestsParams) *oas.ArtisanRequestList {
	t.Helper()
	out, err := d.c.ListArtisanRequests(bg, p)
	if err != nil {
		t.Fatalf("list %+v: %v", p, err)
	}
	return out
}

func idsOf(rs []oas.ArtisanRequest) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ContactID
	}
	return out
}

func reversed(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

func TestListFiltersAndHistory(t *testing.T) {
	t.Parallel()
	d := newDay(t, 4)
	pdgName := d.pdg.User.Prenom + " " + d.pdg.User.Nom
	if _, err := d.c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: d.ids[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.RejectArtisanRequest(bg, oas.NewOptRejectRequest(oas.RejectRequest{Reason: oas.NewOptString("  Pièces manquantes ")}),
		oas.RejectArtisanRequestParams{ID: d.ids[1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: d.ids[2]}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		status oas.OptRequestFilter
		want   []int64
	}{
		{oas.OptRequestFilter{}, []int64{d.ids[3]}},
		{oas.NewOptRequestFilter(oas.RequestFilterPending), []int64{d.ids[3]}},
		{oas.NewOptRequestFilter(oas.RequestFilterApproved), []int64{d.ids[2], d.ids[0]}}, // newest decision first
		{oas.NewOptRequestFilter(oas.RequestFilterRejected), []int64{d.ids[1]}},
		{oas.NewOptRequestFilter(oas.RequestFilterAll), reversed(d.ids)}, // newest request first
	} {
		got := d.list(t, oas.ListArtisanRequestsParams{Status: tc.status})
		if !slices.Equal(idsOf(got.Requests), tc.want) || got.Count != int64(len(tc.want)) || got.NextCursor.Set {
			t.Errorf("status %v: %v (count %d, next %v), want %v", tc.status, idsOf(got.Requests), got.Count, got.NextCursor, tc.want)
		}
	}

	all := d.list(t, oas.ListArtisanRequestsParams{Status: oas.NewOptRequestFilter(oas.RequestFilterAll)})
	byID := map[int64]oas.ArtisanRequest{}
	for _, r := range all.Requests {
		byID[r.ContactID] = r
	}
	decider := oas.Decider{ID: d.pdg.User.ID, Name: pdgName}
	for _, id := range []int64{d.ids[0], d.ids[2]} {
		r := byID[id]
		if r.Status.Or("") != oas.ArtisanStatusApproved || r.DecidedBy.Or(oas.Decider{}) != decider || time.Since(r.DecidedAt.Or(time.Time{})) > time.Minute || r.Reason.Set {
			t.Errorf("approved %d: %+v", id, r)
		}
	}
	if r := byID[d.ids[1]]; r.Status.Or("") != oas.ArtisanStatusRejected || r.DecidedBy.Or(oas.Decider{}) != decider || r.Reason.Or("") != "Pièces manquantes" ||
		time.Since(r.DecidedAt.Or(time.Time{})) > time.Minute {
		t.Errorf("rejected: %+v", r)
	}
	if r := byID[d.ids[3]]; r.Status.Or("") != oas.ArtisanStatusPending || r.DecidedBy.Set || r.DecidedAt.Set || r.Reason.Set {
		t.Errorf("pending: %+v", r)
	}
	// The first page of the default list (the cached read) says pending too.
	if r := d.list(t, oas.ListArtisanRequestsParams{}).Requests[0]; r.Status.Or("") != oas.ArtisanStatusPending {
		t.Errorf("default list: %+v", r)
	}

	t.Run("a removed decider leaves the decision without decided_by", func(t *testing.T) {
		other := d.s.PDG(t)
		id := d.add(t)
		if _, err := d.s.Client(t, other.Token).ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.s.Pool.Exec(bg, "DELETE FROM contacts WHERE id = $1", other.User.ID); err != nil {
			t.Fatal(err)
		}
		got := d.list(t, oas.ListArtisanRequestsParams{Status: oas.NewOptRequestFilter(oas.RequestFilterApproved), Limit: oas.NewOptInt32(1)})
		if len(got.Requests) != 1 || got.Requests[0].ContactID != id || got.Requests[0].DecidedBy.Set || !got.Requests[0].DecidedAt.Set {
			t.Errorf("%+v", got.Requests)
		}
	})
}

func TestListSearch(t *testing.T) {
	t.Parallel()
	d := newDay(t, 2)
	other, err := d.s.Client(t, "").Register(bg, &oas.RegisterRequest{Prenom: "Zoé", Nom: "Hors_Sujet%", Email: apptest.Email("zoe"),
		Password: apptest.Password, ConfirmPassword: apptest.Password, TypeCompte: oas.AccountTypeArtisanPromoteur})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		q    string
		want []int64
	}{
		"last name, any case":          {strings.ToUpper(d.tag), reversed(d.ids)},
		"surrounding spaces":           {"  " + d.tag + " ", reversed(d.ids)},
		"full name":                    {"amina " + strings.ToLower(d.tag), reversed(d.ids)},
		"email":                        {d.email[d.ids[0]], []int64{d.ids[0]}},
		"non-ASCII":                    {"zoé", []int64{other.User.ID}},
		"% is literal":                 {"sujet%", []int64{other.User.ID}},
		"_ is literal, not a wildcard": {"hors_", []int64{other.User.ID}},
		"_ matches no other character": {"Amina_", nil},
		"backslash is literal":         {`\`, nil},
		"no match":                     {"nobody-has-this", nil},
		"empty is no filter":           {"", append([]int64{other.User.ID}, reversed(d.ids)...)},
	} {
		got := d.list(t, oas.ListArtisanRequestsParams{Q: oas.NewOptString(tc.q)})
		if !slices.Equal(idsOf(got.Requests), tc.want) || got.Count != int64(len(tc.want)) {
			t.Errorf("%s (q %q): %v count %d, want %v", name, tc.q, idsOf(got.Requests), got.Count, tc.want)
		}
	}
	// Search within the history.
	if _, err := d.c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: d.ids[1]}); err != nil {
		t.Fatal(err)
	}
	got := d.list(t, oas.ListArtisanRequestsParams{Status: oas.NewOptRequestFilter(oas.RequestFilterApproved), Q: oas.NewOptString(d.tag)})
	if !slices.Equal(idsOf(got.Requests), []int64{d.ids[1]}) {
		t.Errorf("approved %q: %v", d.tag, idsOf(got.Requests))
	}

	t.Run("bounds", func(t *testing.T) {
		for name, q := range map[string]string{
			"101 characters": strings.Repeat("é", 101),
			"bad status":     "",
		} {
			query := url.Values{"q": {q}}
			if name == "bad status" {
				query = url.Values{"status": {"deleted"}}
			}
			st, _, out := raw(t, "GET", d.s.URL+"/api/notifications/artisan-requests?"+query.Encode(), d.pdg.Token, "", nil)
			if st != 400 || errorCode(t, out) != "invalid_request" {
				t.Errorf("%s: %d %v", name, st, out)
			}
		}
		// 100 characters is fine.
		if got := d.list(t, oas.ListArtisanRequestsParams{Q: oas.NewOptString(strings.Repeat("é", 100))}); len(got.Requests) != 0 {
			t.Errorf("100 é: %v", idsOf(got.Requests))
		}
	})
}

// TestListSearchUsesAnIndex: the search reads through the trigram index of request_search (migration
// 0007) and the pages through the keyset indexes of artisan_requests (migration 0008), not a scan of every request. The
// queries are those of queries/contacts.sql as planned for their values (the store plans each one
// for its values): with a pattern, and without one (request_search is not read at all).
func TestListSearchUsesAnIndex(t *testing.T) {
	t.Parallel()
	d := newDay(t, 1)
	// Enough requests that a sequential scan costs more than the indexes, a third of them decided.
	if _, err := d.s.Pool.Exec(bg, `WITH c AS (
			INSERT INTO contacts (prenom, nom, email, password_hash, type_compte)
			SELECT 'Artisan', 'Nom' || g, 'r' || g || '@example.com', 'x', 'Artisan/Promoteur' FROM generate_series(1, 20000) g
			RETURNING id, prenom, nom, email, created_at
		), r AS (
			INSERT INTO artisan_requests (contact_id, status, created_at) SELECT id, 'pending', created_at FROM c
		)
		INSERT INTO request_search (contact_id, search_text) SELECT id, prenom || ' ' || nom || ' ' || email FROM c`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.s.Pool.Exec(bg, `UPDATE artisan_requests SET status = 'approved', decided_at = now() - contact_id * interval '1 s'
		WHERE contact_id IN (SELECT id FROM contacts WHERE email LIKE 'r%@example.com') AND contact_id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.s.Pool.Exec(bg, "ANALYZE contacts, artisan_requests, request_search"); err != nil {
		t.Fatal(err)
	}
	const (
		from = `SELECT c.id FROM artisan_requests r
			JOIN contacts c ON c.id = r.contact_id
			LEFT JOIN request_search s ON s.contact_id = r.contact_id AND %[1]s::text IS NOT NULL
			LEFT JOIN contacts d ON d.id = r.decided_by `
		search = ` AND (%[1]s::text IS NULL OR s.search_text ILIKE %[1]s::text) `
		all    = from + `WHERE (r.created_at, r.contact_id) < (now(), 9223372036854775807)` + search +
			`ORDER BY r.created_at DESC, r.contact_id DESC LIMIT 51`
		pending = from + `WHERE r.status = 'pending' AND (r.created_at, r.contact_id) < (now(), 9223372036854775807)` + search +
			`ORDER BY r.created_at DESC, r.contact_id DESC LIMIT 51`
		history = from + `WHERE r.status = 'approved' AND r.status IN ('approved', 'rejected')
			AND (r.decided_at, r.contact_id) < (now(), 9223372036854775807)` + search + `ORDER BY r.decided_at DESC, r.contact_id DESC LIMIT 51`
		count = `SELECT count(*) FROM artisan_requests r
			LEFT JOIN request_search s ON s.contact_id = r.contact_id AND %[1]s::text IS NOT NULL
			WHERE r.status = 'approved'` + search
	)
	for _, tc := range []struct {
		name, query, pattern string
		uses, notUses        []string
	}{
		{"search", all, `'%diallo%'`, []string{"request_search_text_idx"}, nil},
		{"search history", history, `'%diallo%'`, []string{"request_search_text_idx"}, nil},
		{"search count", count, `'%diallo%'`, []string{"request_search_text_idx"}, nil},
		{"page", all, "NULL", []string{"artisan_requests_created_idx"}, []string{"request_search"}},
		{"history", history, "NULL", []string{"artisan_requests_decided_idx"}, []string{"request_search"}},
		{"pending page", pending, "NULL", []string{"artisan_requests_pending_idx"}, []string{"request_search"}},
		{"search pending", pending, `'%diallo%'`, []string{"request_search_text_idx"}, nil},
	} {
		var plan strings.Builder
		rows, err := d.s.Pool.Query(bg, "EXPLAIN "+fmt.Sprintf(tc.query, tc.pattern))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan.String(), "Seq Scan") {
			t.Errorf("%s: a sequential scan:\n%s", tc.name, plan.String())
		}
		for _, index := range tc.uses {
			if !strings.Contains(plan.String(), index) {
				t.Errorf("%s: %s not used:\n%s", tc.name, index, plan.String())
			}
		}
		for _, table := range tc.notUses {
			if strings.Contains(plan.String(), table) {
				t.Errorf("%s: %s read:\n%s", tc.name, table, plan.String())
			}
		}
	}
}

func TestListKeysetPagination(t *testing.T) {
	t.Parallel()
	d := newDay(t, 7)
	p := oas.ListArtisanRequestsParams{Q: oas.NewOptString(d.tag), Limit: oas.NewOptInt32(3)}
	page := d.list(t, p)
	var seen []int64
	seen = append(seen, idsOf(page.Requests)...)
	if page.Count != 7 || !page.NextCursor.Set {
		t.Fatalf("first page: %+v", page)
	}
	// Requests made between the pages come before the cursor: the next pages neither repeat nor skip.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := d.s.Client(t, "").Register(bg, &oas.RegisterRequest{Prenom: "Late", Nom: d.tag + "-late", Email: apptest.Email("late"),
				Password: apptest.Password, ConfirmPassword: apptest.Password, TypeCompte: oas.AccountTypeArtisanPromoteur}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for page.NextCursor.Set {
		p.Cursor = page.NextCursor
		page = d.list(t, p)
		seen = append(seen, idsOf(page.Requests)...)
		if page.Count != 11 {
			t.Errorf("count %d, want 11", page.Count)
		}
	}
	if !slices.Equal(seen, reversed(d.ids)) {
		t.Errorf("pages gave %v, want %v", seen, reversed(d.ids))
	}

	t.Run("the first page of the cached list has a cursor too", func(t *testing.T) {
		first := d.list(t, oas.ListArtisanRequestsParams{Limit: oas.NewOptInt32(2)})
		next := d.list(t, oas.ListArtisanRequestsParams{Limit: oas.NewOptInt32(2), Cursor: first.NextCursor})
		all := d.list(t, oas.ListArtisanRequestsParams{Limit: oas.NewOptInt32(4)})
		if !first.NextCursor.Set || !slices.Equal(append(idsOf(first.Requests), idsOf(next.Requests)...), idsOf(all.Requests)) {
			t.Errorf("%v + %v, want %v", idsOf(first.Requests), idsOf(next.Requests), idsOf(all.Requests))
		}
	})

	t.Run("history pages by decision time", func(t *testing.T) {
		for _, id := range d.ids[:5] {
			if _, err := d.c.RejectArtisanRequest(bg, oas.OptRejectRequest{}, oas.RejectArtisanRequestParams{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		hp := oas.ListArtisanRequestsParams{Status: oas.NewOptRequestFilter(oas.RequestFilterRejected), Limit: oas.NewOptInt32(2)}
		var got []int64
		for {
			page := d.list(t, hp)
			got = append(got, idsOf(page.Requests)...)
			if !page.NextCursor.Set {
				break
			}
			hp.Cursor = page.NextCursor
		}
		if !slices.Equal(got, reversed(d.ids[:5])) {
			t.Errorf("rejected pages: %v", got)
		}
	})

	t.Run("a cursor altered, or of another query, is 400", func(t *testing.T) {
		first := d.list(t, oas.ListArtisanRequestsParams{Q: oas.NewOptString(d.tag), Limit: oas.NewOptInt32(1)})
		c := first.NextCursor.Value
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			t.Fatal(err)
		}
		flip := func(i int) string {
			x := slices.Clone(b)
			x[i] ^= 1
			return base64.RawURLEncoding.EncodeToString(x)
		}
		for name, q := range map[string]url.Values{
			"id changed":      {"q": {d.tag}, "limit": {"1"}, "cursor": {flip(12)}},
			"time changed":    {"q": {d.tag}, "limit": {"1"}, "cursor": {flip(3)}},
			"mac changed":     {"q": {d.tag}, "limit": {"1"}, "cursor": {flip(len(b) - 1)}},
			"truncated":       {"q": {d.tag}, "limit": {"1"}, "cursor": {c[:len(c)-3]}},
			"not base64":      {"q": {d.tag}, "limit": {"1"}, "cursor": {"!!!!"}},
			"another search":  {"q": {d.tag + "x"}, "limit": {"1"}, "cursor": {c}},
			"another status":  {"q": {d.tag}, "status": {"all"}, "limit": {"1"}, "cursor": {c}},
			"empty":           {"q": {d.tag}, "cursor": {""}},
			"too long":        {"q": {d.tag}, "cursor": {strings.Repeat("A", 201)}},
			"a forged cursor": {"cursor": {base64.RawURLEncoding.EncodeToString(make([]byte, 41))}},
		} {
			st, _, out := raw(t, "GET", d.s.URL+"/api/notifications/artisan-requests?"+q.Encode(), d.pdg.Token, "", nil)
			if st != 400 || errorCode(t, out) != "invalid_request" {
				t.Errorf("%s: %d %v", name, st, out)
			}
		}
		// Unaltered, it works, with the search's surrounding spaces or without.
		if _, err := d.c.ListArtisanRequests(bg, oas.ListArtisanRequestsParams{Q: oas.NewOptString(" " + d.tag), Limit: oas.NewOptInt32(1), Cursor: first.NextCursor}); err != nil {
			t.Error(err)
		}
	})
}

func TestConflictNamesTheDecision(t *testing.T) {
	t.Parallel()
	d := newDay(t, 2)
	other := d.s.PDG(t)
	if _, err := d.s.Client(t, other.Token).RejectArtisanRequest(bg, oas.NewOptRejectRequest(oas.RejectRequest{Reason: oas.NewOptString("Hors zone")}),
		oas.RejectArtisanRequestParams{ID: d.ids[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: d.ids[1]}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op, want string
		id       int64
		by       *oas.AuthResponse
		reason   any
	}{
		{"approve", "rejected", d.ids[0], other, "Hors zone"},
		{"reject", "rejected", d.ids[0], other, "Hors zone"},
		{"approve", "approved", d.ids[1], d.pdg, nil},
		{"reject", "approved", d.ids[1], d.pdg, nil},
	} {
		st, _, out := raw(t, "POST", fmt.Sprintf("%s/api/notifications/artisan-requests/%d/%s", d.s.URL, tc.id, tc.op), d.pdg.Token, "", nil)
		e, _ := out["error"].(map[string]any)
		dec, _ := e["decision"].(map[string]any)
		by, _ := dec["decided_by"].(map[string]any)
		at, _ := time.Parse(time.RFC3339, fmt.Sprint(dec["decided_at"]))
		name := tc.by.User.Prenom + " " + tc.by.User.Nom
		if st != 409 || e["code"] != "conflict" || len(out) != 1 ||
			dec["contact_id"] != float64(tc.id) || dec["status"] != tc.want || by["id"] != float64(tc.by.User.ID) || by["name"] != name ||
			time.Since(at) > time.Minute || dec["reason"] != tc.reason {
			t.Errorf("%s %d: %d %v", tc.op, tc.id, st, out)
		}
		msg, _ := e["message"].(string)
		if !strings.Contains(msg, fmt.Sprint(tc.id)) || !strings.Contains(msg, name) {
			t.Errorf("%s %d: message %q names neither the request nor the decider", tc.op, tc.id, msg)
		}
	}
}

func TestMeShowsTheDecision(t *testing.T) {
	t.Parallel()
	d := newDay(t, 0)
	applicant := func() (*oas.Client, int64) {
		res, err := d.s.Client(t, "").Register(bg, &oas.RegisterRequest{Prenom: "Amina", Nom: "Diallo", Email: apptest.Email("me"),
			Password: apptest.Password, ConfirmPassword: apptest.Password, TypeCompte: oas.AccountTypeArtisanPromoteur})
		if err != nil {
			t.Fatal(err)
		}
		return d.s.Client(t, res.Token), res.User.ID
	}
	me := func(c *oas.Client) *oas.User {
		u, err := c.GetMe(bg)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	c, id := applicant()
	if u := me(c); u.ArtisanStatus.Or("") != oas.ArtisanStatusPending || u.ArtisanDecidedAt.Set || u.ArtisanReason.Set {
		t.Errorf("pending: %+v", u)
	}
	if _, err := d.c.RejectArtisanRequest(bg, oas.NewOptRejectRequest(oas.RejectRequest{Reason: oas.NewOptString("Dossier incomplet")}),
		oas.RejectArtisanRequestParams{ID: id}); err != nil {
		t.Fatal(err)
	}
	if u := me(c); u.ArtisanStatus.Or("") != oas.ArtisanStatusRejected || time.Since(u.ArtisanDecidedAt.Or(time.Time{})) > time.Minute ||
		u.ArtisanReason.Or("") != "Dossier incomplet" || u.DemandeArtisan {
		t.Errorf("rejected: %+v", u)
	}

	c, id = applicant()
	if _, err := d.c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: id}); err != nil {
		t.Fatal(err)
	}
	if u := me(c); u.ArtisanStatus.Or("") != oas.ArtisanStatusApproved || !u.ArtisanDecidedAt.Set || u.ArtisanReason.Set {
		t.Errorf("approved: %+v", u)
	}
	// Login shows the same user.
	login, err := d.s.Client(t, "").Login(bg, &oas.LoginRequest{Email: me(c).Email, Password: apptest.Password})
	if err != nil || !login.User.ArtisanDecidedAt.Set {
		t.Errorf("login: %+v %v", login, err)
	}
}

// TestDecisionEventsCarryTheDecider reads the events recorded in the outbox (the relay sends them as
// they are; tests/ checks them on sockets).
func TestDecisionEventsCarryTheDecider(t *testing.T) {
	t.Parallel()
	d := newDay(t, 2)
	if _, err := d.c.ApproveArtisanRequest(bg, oas.ApproveArtisanRequestParams{ID: d.ids[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.RejectArtisanRequest(bg, oas.NewOptRejectRequest(oas.RejectRequest{Reason: oas.NewOptString("Non")}),
		oas.RejectArtisanRequestParams{ID: d.ids[1]}); err != nil {
		t.Fatal(err)
	}
	payload := func(event string, id int64) map[string]any {
		var b []byte
		if err := d.s.Pool.QueryRow(bg, "SELECT payload FROM outbox WHERE event = $1 AND (payload->>'contact_id')::bigint = $2", event, id).Scan(&b); err != nil {
			t.Fatalf("%s %d: %v", event, id, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	decider := map[string]any{"id": float64(d.pdg.User.ID), "name": d.pdg.User.Prenom + " " + d.pdg.User.Nom}
	for _, tc := range []struct {
		event  string
		id     int64
		fields int
	}{{"artisan-request:approved", d.ids[0], 5}, {"artisan-request:rejected", d.ids[1], 4}} {
		p := payload(tc.event, tc.id)
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(p["decided_at"]))
		if fmt.Sprint(p["decided_by"]) != fmt.Sprint(decider) || err != nil || time.Since(at) > time.Minute || at.Location() != time.UTC || len(p) != tc.fields {
			t.Errorf("%s: %v", tc.event, p)
		}
	}
	if p := payload("artisan-request:rejected", d.ids[1]); p["reason"] != "Non" {
		t.Errorf("rejected: %v", p)
	}
	// The event's decided_at is the stored one, as the list shows it.
	list := d.list(t, oas.ListArtisanRequestsParams{Status: oas.NewOptRequestFilter(oas.RequestFilterApproved)})
	at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(payload("artisan-request:approved", d.ids[0])["decided_at"]))
	if len(list.Requests) != 1 || !list.Requests[0].DecidedAt.Value.Equal(at) {
		t.Errorf("list %v, event %v", list.Requests, at)
	}
}
