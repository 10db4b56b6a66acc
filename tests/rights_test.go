package tests

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/proctest"
	"github.com/artisan-notify/artisan-notify/impl/testdb"
)

// TestRightsChangedOnBothNodes: grant-pdg and revoke-pdg, run as operator commands, send
// user:rights-changed through the outbox to the user's own sockets on every node, once each, after
// those sockets joined (or left) the PDG room: the next PDG event reaches them (or not) without a
// reconnection. Other users' sockets get nothing.
func TestRightsChangedOnBothNodes(t *testing.T) {
	dbURL := testdb.New(t)
	a := proctest.Start(t, nodeEnv(dbURL, "node-a"))
	b := proctest.Start(t, nodeEnv(dbURL, "node-b"))
	target := register(t, a.URL, typeClient)
	other := register(t, b.URL, typeClient)
	witness := makePDG(t, a)
	c := newClients(t)
	c.open("target@a", target.Token, a.URL)
	c.open("target@b", target.Token, b.URL)
	c.open("other@b", other.Token, b.URL)
	c.open("witness@b", witness.Token, b.URL)
	c.waitConnected(1, "target@a", "target@b", "other@b", "witness@b")

	operator(t, a, "grant-pdg", target.Email)
	for _, id := range []string{"target@a", "target@b"} {
		r := c.waitEvent(id, evGranted, target.ID)
		var p map[string]any
		if err := json.Unmarshal(r.Payload, &p); err != nil || len(p) != 2 || p["contact_id"] != float64(target.ID) || p["is_pdg"] != true {
			t.Errorf("%s: payload %s", id, r.Payload)
		}
	}
	// Granted: the same sockets get PDG events, and REST agrees on both nodes.
	app1 := register(t, b.URL, typeArtisan)
	for _, id := range []string{"target@a", "target@b", "witness@b"} {
		c.waitEvent(id, evNew, app1.ID)
	}
	for _, srv := range []*proctest.Server{a, b} {
		mustCall(t, "GET", srv.URL+"/api/notifications/artisan-requests/count", target.Token, nil, http.StatusOK)
	}

	operator(t, b, "revoke-pdg", target.Email)
	for _, id := range []string{"target@a", "target@b"} {
		c.waitEvent(id, evRevoked, target.ID)
	}
	app2 := register(t, a.URL, typeArtisan)
	c.waitEvent("witness@b", evNew, app2.ID)
	for _, srv := range []*proctest.Server{a, b} {
		mustCall(t, "GET", srv.URL+"/api/notifications/artisan-requests/count", target.Token, nil, http.StatusForbidden)
	}
	quiet(c, quietWindow)
	want := map[key]int{{evGranted, target.ID}: 1, {evNew, app1.ID}: 1, {evRevoked, target.ID}: 1}
	d := c.check(t, map[string]map[key]int{
		"target@a":  want,
		"target@b":  want,
		"other@b":   {},
		"witness@b": {{evNew, app1.ID}: 1, {evNew, app2.ID}: 1},
	}, nil)
	for _, id := range []string{"target@a", "target@b"} {
		if l := c.log(id); len(l.connects) != 1 || len(l.disconnects) != 0 {
			t.Errorf("%s reconnected: %d connects, %d disconnects", id, len(l.connects), len(l.disconnects))
		}
	}
	t.Logf("rights across nodes: %v", d)
}
