/**
 * A tiny network probe run inside the NAT lab's namespaces (`ip netns exec NS node nat-probe.js ...`):
 *
 *   node nat-probe.js echo HOST PORT                 UDP and TCP servers on HOST:PORT that answer each
 *                                                    datagram / connection with the address it came from
 *   node nat-probe.js ask udp|tcp HOST PORT [LOCAL]  asks an echo server (from local port LOCAL) and
 *                                                    prints what it saw as one JSON line, or {"error"}
 *
 * The echo server prints `ready` once both sockets listen and runs until killed.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'echo') {
  const [host, portText] = args as [string, string];
  const port = Number(portText);
  const udp = dgram.createSocket('udp4');
  udp.on('message', (_msg, from) => udp.send(JSON.stringify({ host: from.address, port: from.port }), from.port, from.address));
  const tcp = net.createServer((socket) => socket.end(JSON.stringify({ host: socket.remoteAddress, port: socket.remotePort })));
  let ready = 0;
  const listening = () => {
    if (++ready === 2) console.log('ready');
  };
  udp.bind(port, host, listening);
  tcp.listen(port, host, listening);
} else if (mode === 'ask') {
  const [proto, host, portText, localText] = args as [string, string, string, string | undefined];
  const port = Number(portText);
  const localPort = localText ? Number(localText) : 0;
  const done = (result: unknown) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  };
  setTimeout(() => done({ error: 'timeout' }), 1500).unref();
  if (proto === 'udp') {
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg) => done(JSON.parse(msg.toString())));
    udp.bind(localPort, () => udp.send('probe', port, host));
  } else {
    const socket = net.connect({ host, port, localPort: localPort || undefined });
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('end', () => done(JSON.parse(text)));
    socket.on('error', (err) => done({ error: err.message }));
  }
} else {
  console.error('usage: nat-probe.js echo HOST PORT | ask udp|tcp HOST PORT [LOCALPORT]');
  process.exit(2);
}
