package store

import (
	"sync"
	"time"

	"artisan-notify/gen/events"

	"artisan-notify/impl/domain"
)

// userCache keeps recently loaded users, so that an authenticated request or handshake costs
// no database round trip. Entries are dropped when the outbox says the user changed (PDG right,
// tokens, artisan decision) on any node, and after ttl in any case. A generation number, moved by
// every drop, keeps a load that raced with a drop (it may have read the user before the change
// committed) from caching what it read: that load's caller gets it, the next read loads again.
type userCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	gen     uint64
	entries map[int64]cachedUser
	swept   time.Time
}

type cachedUser struct {
	user    domain.User
	expires time.Time
}

// maxCachedUsers bounds the cache's memory (about 200 bytes an entry).
const maxCachedUsers = 100_000

// WithReadCache returns a Store that answers the reads every request makes (the authenticated
// user, the pending count and first pages) from memory for up to ttl. The caller must pass
// every outbox message to Deliver (the relay does), so that changes made on any node clear
// what they change; this node's own writes clear it at once.
func (s *Store) WithReadCache(ttl time.Duration) *Store {
	c := *s
	c.users = &userCache{ttl: ttl, entries: make(map[int64]cachedUser)}
	c.pending = newPendingCache(ttl)
	return &c
}

// get returns the cached user, or the generation to pass to put after loading it.
func (c *userCache) get(id int64, now time.Time) (domain.User, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || now.After(e.expires) {
		return domain.User{}, c.gen, false
	}
	return e.user, c.gen, true
}

// put caches u, loaded after get returned gen, unless a drop happened since.
func (c *userCache) put(gen uint64, u domain.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if now.Sub(c.swept) > c.ttl || len(c.entries) >= maxCachedUsers {
		for id, e := range c.entries {
			if now.After(e.expires) || len(c.entries) >= maxCachedUsers {
				delete(c.entries, id)
			}
		}
		c.swept = now
	}
	c.entries[u.ID] = cachedUser{user: u, expires: now.Add(c.ttl)}
}

// drop removes the user; loads in flight (of any user) will not cache their result.
func (c *userCache) drop(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, id)
}

// Deliver implements the relay's Deliverer: a message about a contact (its decision, a change of
// its rights or tokens) drops that contact's cached user. It never fails.
func (s *Store) Deliver(m events.Message) error {
	if s.users == nil {
		return nil
	}
	var id int64
	switch m.Event {
	case events.EventInternalUserChanged:
		p, err := events.DecodeInternalUserChanged(m)
		if err != nil {
			return nil
		}
		id = p.ContactID
	case events.EventArtisanRequestApproved:
		s.pending.clear()
		p, _ := events.DecodeArtisanRequestApproved(m)
		id = p.ContactID
	case events.EventArtisanRequestRejected:
		s.pending.clear()
		p, _ := events.DecodeArtisanRequestRejected(m)
		id = p.ContactID
	default:
		s.pending.clear()
		return nil
	}
	if id > 0 {
		s.users.drop(id)
	}
	return nil
}

// cachedUser returns the user from the cache, or loads and caches it.
func (s *Store) cachedUser(id int64, load func() (domain.User, error)) (domain.User, error) {
	now := time.Now()
	u, gen, ok := s.users.get(id, now)
	if ok {
		return u, nil
	}
	u, err := load()
	if err == nil {
		s.users.put(gen, u, now)
	}
	return u, err
}
