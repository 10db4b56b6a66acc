package readcache

import (
	"sync"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/domain"
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
