/**
 * The I/O of a dial-back: one UDP datagram from a socket made for it, and one TCP connection from
 * a fresh local port, so neither comes from an address the requester has sent to (a NAT that only
 * lets in answers drops both).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Address } from '../net/address.js';

export interface Dialer {
  /** Sends `datagram` to `to` from a new socket; true once the system took it. */
  udp(datagram: Uint8Array, to: Address): Promise<boolean>;
  /** Connects to `to` from a new port; true if the connection was accepted within `timeoutMs`. */
  tcp(to: Address, timeoutMs: number): Promise<boolean>;
}

export const socketDialer: Dialer = {
  udp(datagram, to) {
    const socket = dgram.createSocket(net.isIPv6(to.host) ? 'udp6' : 'udp4');
    return new Promise((resolve) => {
      socket.once('error', () => {
        socket.close();
        resolve(false);
      });
      socket.send(datagram, to.port, to.host, (err) => {
        socket.close();
        resolve(!err);
      });
    });
  },
  tcp(to, timeoutMs) {
    return new Promise((resolve) => {
      const socket = net.connect({ host: to.host, port: to.port });
      const done = (ok: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  },
};
