#!/usr/bin/env bash
# Installs the system packages the test suite needs, those that are missing (Debian/Ubuntu, apt):
# PostgreSQL's server programs, Chromium (browser tests), redis-server, nginx, and Debian's
# python-socketio (the second Socket.IO client of the adversarial tests). `make test` runs it.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || need+=(nginx)
command -v prometheus >/dev/null || need+=(prometheus)
/usr/bin/python3 -c 'import socketio, websocket' >/dev/null 2>&1 || need+=(python3-socketio python3-websocket python3-requests)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]}"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's prometheus package starts a daemon on :9090 under systemd: the tests run their own.
if [ -d /run/systemd/system ] && [[ " ${need[*]} " == *" prometheus "* ]]; then
  "${sudo[@]}" systemctl disable --now prometheus || true
fi
