package readcache

import (
	"context"

	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// UserLoadedThen is User through the read cache, with then run after the database read and
// before the result is cached: a test interleaves a change with a load in flight.
func (s *Store) UserLoadedThen(ctx context.Context, id int64, then func()) (domain.User, error) {
	return s.cachedUser(id, func() (domain.User, error) {
		u, err := s.next.User(ctx, id)
		then()
		return u, err
	})
}
