package config_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	c, err := load(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ,::1,192.168.1.7/24"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(c.TrustedProxies), "[127.0.0.1/32 10.0.0.0/8 ::1/128 192.168.1.0/24]"; got != want {
		t.Errorf("TrustedProxies = %s, want %s", got, want)
	}
	if _, err := load(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1,nginx"}); err == nil || !strings.Contains(err.Error(), `TRUSTED_PROXIES: "nginx"`) {
		t.Errorf("a host name: err = %v, want a TRUSTED_PROXIES error", err)
	}
	if c, _ := load(t, nil); c.TrustedProxies != nil {
		t.Errorf("unset: TrustedProxies = %v, want none", c.TrustedProxies)
	}
}
