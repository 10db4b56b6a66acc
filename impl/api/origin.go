package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// RequestOrigin returns the origin (scheme://host) the client of r addressed: the request's
// scheme (https with TLS) and Host header or, when the peer is a trusted proxy, the scheme and
// host it forwards in X-Forwarded-Proto and X-Forwarded-Host (falling back to Host).
func RequestOrigin(r *http.Request, trusted []netip.Prefix) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if fromTrustedProxy(r, trusted) {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme + "://" + strings.ToLower(host)
}

func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

func fromTrustedProxy(r *http.Request, trusted []netip.Prefix) bool {
	return isTrusted(peerAddr(r), trusted)
}

// peerAddr returns the address of the peer of r, without its port.
func peerAddr(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// isTrusted reports whether the address ip is in one of the trusted prefixes.
func isTrusted(ip string, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
