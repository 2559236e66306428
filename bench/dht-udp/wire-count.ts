/** bench:dht-udp's count of every datagram either implementation sends. */
import dgram from 'node:dgram';

/**
 * Every UDP datagram either implementation sends, requests and replies, including
 * background traffic such as the pings that verify new contacts. Both implementations use
 * node:dgram, so patching `Socket.prototype.send` counts them the same way.
 */
export const wire = { datagrams: 0, bytes: 0 };

export function countDatagrams(): void {
  const send = dgram.Socket.prototype.send as (...args: unknown[]) => void;
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
    // send(msg, offset, length, port, address, cb) or send(msg, port, address, cb). A send
    // on a socket still binding is queued by Node and replayed later with msg turned into
    // an array: neither implementation passes arrays, so arrays are such replays, not counted.
    const [msg, second, third] = args;
    if (!Array.isArray(msg)) {
      wire.datagrams++;
      wire.bytes += typeof second === 'number' && typeof third === 'number' ? third : (msg as Uint8Array).byteLength;
    }
    return send.apply(this, args);
  } as typeof dgram.Socket.prototype.send;
}
