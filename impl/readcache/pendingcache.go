package readcache

import (
	"sync"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// pendingCache keeps the pending count and the first pages of pending requests, which every
// PDG screen reads on every event. Any artisan-request event (delivered by the relay on every
// node) and every local write clear it; a generation number keeps a read that raced with a
// clear from filling it with what it read before.
type pendingCache struct {
	ttl   time.Duration
	mu    sync.Mutex
	gen   uint64
	count *cachedCount
	pages map[int32]cachedPage
}

type cachedCount struct {
	n       int64
	expires time.Time
}

type cachedPage struct {
	reqs    []domain.ArtisanRequest
	total   int64
	expires time.Time
}

func newPendingCache(ttl time.Duration) *pendingCache {
	return &pendingCache{ttl: ttl, pages: make(map[int32]cachedPage)}
}

// clear drops everything; reads in flight will not store their results.
func (c *pendingCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.count = nil
	clear(c.pages)
}

// generation returns the number to pass to the put functions after a database read.
func (c *pendingCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *pendingCache) getCount(now time.Time) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.count == nil || now.After(c.count.expires) {
		return 0, false
	}
	return c.count.n, true
}

func (c *pendingCache) putCount(gen uint64, n int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.count = &cachedCount{n: n, expires: now.Add(c.ttl)}
	}
}

func (c *pendingCache) getPage(limit int32, now time.Time) ([]domain.ArtisanRequest, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pages[limit]
	if !ok || now.After(p.expires) {
		return nil, 0, false
	}
	return p.reqs, p.total, true
}

func (c *pendingCache) putPage(gen uint64, limit int32, reqs []domain.ArtisanRequest, total int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen && len(c.pages) < 8 { // a few page sizes in use (the default 50, the UI's)
		c.pages[limit] = cachedPage{reqs: reqs, total: total, expires: now.Add(c.ttl)}
	}
}
