package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/artisan-notify/artisan-notify/impl/domain"
)

// cursors seals and opens the opaque cursors of the request list. A cursor is the position of the
// next page (domain.Keyset) bound to the query it continues (the filter and the search), signed
// with HMAC-SHA256 so that a client can neither forge a position nor reuse a cursor for another
// query. Every node derives the same key from the token secret, so a cursor works on any node.
type cursors struct{ key []byte }

// newCursors derives the cursor key from secret (a key of its own: a cursor's MAC is never a
// token's signature).
func newCursors(secret []byte) cursors {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("artisan-notify request list cursor v1"))
	return cursors{key: m.Sum(nil)}
}

const (
	cursorVersion = 1
	cursorMACSize = 16
	// cursorBody: version, unix microseconds, id, the query's digest (8 bytes).
	cursorBody = 1 + 8 + 8 + 8
	// maxCursor is the longest cursor accepted (the contract's maxLength): its encoding is shorter.
	maxCursor = 200
)

var errBadCursor = errors.New("bad cursor")

// seal returns the cursor of position k for query (filter, search).
func (c cursors) seal(k domain.Keyset, filter domain.RequestFilter, search string) string {
	b := make([]byte, cursorBody, cursorBody+cursorMACSize)
	b[0] = cursorVersion
	binary.BigEndian.PutUint64(b[1:], uint64(k.At.UnixMicro()))
	binary.BigEndian.PutUint64(b[9:], uint64(k.ID))
	copy(b[17:], queryDigest(filter, search))
	b = append(b, c.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// open returns the position of cursor s, or errBadCursor if s was not sealed by seal for the
// query (filter, search): altered, truncated, or from another query.
func (c cursors) open(s string, filter domain.RequestFilter, search string) (domain.Keyset, error) {
	if len(s) > maxCursor {
		return domain.Keyset{}, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorBody+cursorMACSize || b[0] != cursorVersion {
		return domain.Keyset{}, errBadCursor
	}
	body, mac := b[:cursorBody], b[cursorBody:]
	if !hmac.Equal(mac, c.mac(body)) || !hmac.Equal(body[17:], queryDigest(filter, search)) {
		return domain.Keyset{}, errBadCursor
	}
	id := int64(binary.BigEndian.Uint64(body[9:]))
	if id <= 0 {
		return domain.Keyset{}, errBadCursor
	}
	return domain.Keyset{At: time.UnixMicro(int64(binary.BigEndian.Uint64(body[1:]))).UTC(), ID: id}, nil
}

func (c cursors) mac(body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(body)
	return m.Sum(nil)[:cursorMACSize]
}

// queryDigest identifies a query: a cursor continues only the query it was made for.
func queryDigest(filter domain.RequestFilter, search string) []byte {
	h := sha256.New()
	h.Write([]byte(filter))
	h.Write([]byte{0})
	h.Write([]byte(search))
	return h.Sum(nil)[:8]
}
