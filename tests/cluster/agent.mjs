// A pool of npm socket.io-client sockets driven by a Go test (tests/cluster_test.go): it reads
// one JSON command per line on stdin and writes one JSON report per line on stdout.
//
// Commands:
//   {"op":"open","id":"s1","urls":["http://127.0.0.1:1234",...],"token":"...",
//    "transport":"websocket"|"polling","reconnection":true,"origin":"http://..."}
//      opens a socket to urls[0]. With reconnection on and several urls, every reconnection
//      attempt goes to the next url, as a load balancer would after losing a node.
//   {"op":"close","id":"s1"}   closes one socket
//   {"op":"exit"}              closes every socket and exits (so does the end of stdin)
//
// Reports (t = type): ready; connect {id, sid, recovered, url}; disconnect {id, reason};
// connect_error {id, message}; event {id, event, payload}; error {message}.
import { createInterface } from 'node:readline';
import { io } from 'socket.io-client';

const sockets = new Map();

function report(r) {
  process.stdout.write(JSON.stringify({ ...r, at: Date.now() }) + '\n');
}

function open(cmd) {
  const { id, urls, token, transport = 'websocket', reconnection = true, origin } = cmd;
  if (sockets.has(id)) sockets.get(id).close();
  let index = 0;
  const opts = {
    path: '/socket.io/',
    forceNew: true,
    reconnection,
    reconnectionDelay: 200,
    reconnectionDelayMax: 1000,
    randomizationFactor: 0.3,
    timeout: 10000,
    transports: transport === 'polling' ? ['polling'] : ['websocket'],
    upgrade: false,
  };
  if (token !== undefined) opts.auth = { token };
  if (origin) opts.extraHeaders = { Origin: origin };
  const s = io(urls[0], opts);
  sockets.set(id, s);
  if (urls.length > 1) {
    s.io.on('reconnect_attempt', () => {
      index = (index + 1) % urls.length;
      s.io.uri = urls[index];
    });
  }
  s.on('connect', () => report({ t: 'connect', id, sid: s.id, recovered: s.recovered, url: s.io.uri }));
  s.on('disconnect', (reason) => report({ t: 'disconnect', id, reason }));
  s.on('connect_error', (err) => report({ t: 'connect_error', id, message: err.message }));
  s.onAny((event, payload) => report({ t: 'event', id, event, payload }));
}

function exit() {
  for (const s of sockets.values()) s.close();
  sockets.clear();
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  try {
    const cmd = JSON.parse(line);
    switch (cmd.op) {
      case 'open':
        open(cmd);
        break;
      case 'close':
        sockets.get(cmd.id)?.close();
        sockets.delete(cmd.id);
        report({ t: 'closed', id: cmd.id });
        break;
      case 'exit':
        exit();
        break;
      default:
        report({ t: 'error', message: `unknown op ${cmd.op}` });
    }
  } catch (err) {
    report({ t: 'error', message: String(err?.stack || err) });
  }
});
rl.on('close', exit);
report({ t: 'ready' });
