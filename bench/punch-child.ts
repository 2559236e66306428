/**
 * One side of a hole-punching attempt, run inside a NAT lab namespace by bench/nat-punch.ts:
 *
 *   node punch-child.js udp|tcp LOCAL_PORT REMOTE_HOST REMOTE_PORT START_AT_MS WINDOW_MS
 *
 * Waits until START_AT_MS (both sides get the same instant), then for WINDOW_MS:
 * - udp: sends a datagram from LOCAL_PORT to the remote every 50 ms; success once one arrives
 *   from the remote (the other side's punches got through our NAT's mapping);
 * - tcp: connects from LOCAL_PORT to the remote (TCP simultaneous open), retrying every 100 ms
 *   until a connection is established.
 * Prints one JSON line: {"ok", "ms"} (ms from START_AT_MS to success); a UDP side that succeeded
 * goes on sending for 500 ms more, since its peer may not have received one of its datagrams yet.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, localText, host, remoteText, startText, windowText] = process.argv.slice(2) as [string, string, string, string, string, string];
const localPort = Number(localText);
const port = Number(remoteText);
const startAt = Number(startText);
const windowMs = Number(windowText);

let finished = false;
const done = (ok: boolean) => {
  if (finished) return;
  finished = true;
  process.stdout.write(`${JSON.stringify({ ok, ms: Date.now() - startAt })}\n`);
  // Go on punching a little (UDP): the other side may not have heard from us yet.
  setTimeout(() => process.exit(0), ok && mode === 'udp' ? 500 : 0);
};

await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
setTimeout(() => done(false), windowMs).unref();

if (mode === 'udp') {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (_msg, from) => {
    if (from.address === host && from.port === port) done(true);
  });
  socket.bind(localPort, () => {
    const punch = () => socket.send('punch', port, host);
    punch();
    setInterval(punch, 50).unref();
  });
} else {
  const attempt = () => {
    const socket = net.connect({ host, port, localPort });
    socket.once('connect', () => done(true));
    socket.once('error', () => {
      socket.destroy();
      // The port is free again once the failed socket is gone; retry while the window lasts.
      setTimeout(attempt, 100).unref();
    });
  };
  attempt();
}
// Keeps the process alive until done() (the window's timer is unref'd).
setInterval(() => {}, 1000);
