package api_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/artisan-notify/artisan-notify/impl/api"
)

func TestClientIP(t *testing.T) {
	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxy trusted: the peer, whatever the header", "127.0.0.1:5000", []string{"203.0.113.9"}, nil, "127.0.0.1"},
		{"untrusted peer: the header is ignored", "198.51.100.7:5000", []string{"203.0.113.9"}, local, "198.51.100.7"},
		{"trusted peer: the client from the header", "127.0.0.1:5000", []string{"203.0.113.9"}, local, "203.0.113.9"},
		{"a spoofed left-most entry is skipped", "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.9"}, local, "203.0.113.9"},
		{"trusted hops are skipped", "127.0.0.1:5000", []string{"203.0.113.9, 10.1.2.3"}, local, "203.0.113.9"},
		{"several header lines", "127.0.0.1:5000", []string{"1.2.3.4", "203.0.113.9"}, local, "203.0.113.9"},
		{"no header: the proxy", "127.0.0.1:5000", nil, local, "127.0.0.1"},
		{"malformed header: the proxy", "127.0.0.1:5000", []string{"not-an-ip"}, local, "127.0.0.1"},
		{"IPv6 client", "127.0.0.1:5000", []string{"2001:db8::1"}, local, "2001:db8::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := api.ClientIP(r, tt.trusted); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
