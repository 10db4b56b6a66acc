package api

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRequestOrigin(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	for _, tc := range []struct {
		name, remote, host, proto, fwdHost string
		tls                                bool
		want                               string
	}{
		{name: "direct http", remote: "192.0.2.1:5000", host: "Example.com:3001", want: "http://example.com:3001"},
		{name: "direct tls", remote: "192.0.2.1:5000", host: "example.com", tls: true, want: "https://example.com"},
		{name: "untrusted peer's forwarded headers ignored", remote: "192.0.2.1:5000", host: "example.com", proto: "https", fwdHost: "evil.example", want: "http://example.com"},
		{name: "trusted proxy", remote: "10.0.0.1:5000", host: "backend:3001", proto: "https", fwdHost: "app.example.com", want: "https://app.example.com"},
		{name: "trusted proxy, Host kept", remote: "10.0.0.1:5000", host: "app.example.com", proto: "https", want: "https://app.example.com"},
		{name: "trusted proxy, bad proto ignored", remote: "10.0.0.1:5000", host: "app.example.com", proto: "javascript", want: "http://app.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/socket.io/", nil)
			r.RemoteAddr, r.Host = tc.remote, tc.host
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.fwdHost != "" {
				r.Header.Set("X-Forwarded-Host", tc.fwdHost)
			}
			if got := RequestOrigin(r, proxy); got != tc.want {
				t.Fatalf("RequestOrigin = %q, want %q", got, tc.want)
			}
		})
	}
}
