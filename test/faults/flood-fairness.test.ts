/**
 * A flood from many source addresses against a live DHT node, over real UDP on loopback
 * (127.0.0.0/8 is all ours on Linux), while an honest peer in another /24 keeps asking. The
 * target's clock is a ManualClock moved in 100 ms ticks once every datagram of the tick was
 * counted, so the figures do not depend on how loaded the machine is. The rate limit is the
 * production one scaled down 10x (10/s per source, burst 20, overall 20 sources' worth), so
 * few datagrams show the same shares.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { DhtNode } from '../../src/dht/node.js';
import { Ping, Pong } from '../../src/dht/messages.js';
import type { Address } from '../../src/net/address.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { ManualClock } from '../../src/util/clock.js';
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js';
import { LOOPBACK, until } from '../helpers/network.js';

interface Sender {
  socket: dgram.Socket;
  address: Address;
  answers: number;
}

async function openSender(host: string): Promise<Sender> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const sender: Sender = { socket, address: { host, port: socket.address().port }, answers: 0 };
  socket.on('message', (msg) => {
    try {
      if (decodeMessage(msg).type === Pong.type) sender.answers++;
    } catch {
      // Not a PONG.
    }
  });
  return sender;
}

function ping(s: Sender, to: Address): void {
  s.socket.send(encodeMessage(Ping, randomBytes(8), nodeIdFromAddress(s.address), {}), to.port, to.host);
}

describe('faults: a flood from many addresses and an honest peer (real UDP)', function () {
  this.timeout(120_000);
  const sockets: Sender[] = [];
  let target: DhtNode | null = null;
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.socket.close();
    await target?.close();
    target = null;
  });

  async function run(floodHosts: string[], label: string): Promise<{ honest: number; asked: number; flood: number; floodSent: number; limited: number }> {
    const clock = new ManualClock();
    target = await DhtNode.create({ ...LOOPBACK, host: '127.0.0.1', clock, rateLimit: { perSecond: 10, burst: 20 } });
    const flood = await Promise.all(floodHosts.map(openSender));
    const honest = await openSender('127.0.1.1');
    sockets.push(...flood, honest);
    let sent = 0;
    let asked = 0;
    const seen = () => {
      const s = target!.stats();
      return s.requestsHandled + s.rateLimited + s.droppedSpoofed + s.droppedMalformed + s.droppedUnexpected;
    };
    // 5 s: every flooder sends 3 PINGs per 100 ms tick (30/s, 3x its rate); the honest peer 1 (10/s).
    for (let tick = 0; tick < 50; tick++) {
      for (let n = 0; n < 3; n++) {
        for (const f of flood) ping(f, target.address);
        sent += flood.length;
        if (n === 1) {
          ping(honest, target.address);
          sent++;
          asked++;
        }
      }
      await until(() => seen() >= sent, `the target to count tick ${tick}'s datagrams`);
      clock.advance(100);
    }
    await until(() => flood.reduce((a, f) => a + f.answers, 0) + honest.answers >= target!.stats().requestsHandled, 'the answers');
    const stats = target.stats();
    const result = { honest: honest.answers, asked, flood: flood.reduce((a, f) => a + f.answers, 0), floodSent: sent - asked, limited: stats.rateLimited };
    console.log(`      ${label}: honest answered ${result.honest}/${result.asked}; flood answered ${result.flood}/${result.floodSent}; rate-limited ${result.limited}`);
    return result;
  }

  it('60 flooding addresses in one /24: the honest peer in another /24 is answered every time', async () => {
    const r = await run(Array.from({ length: 60 }, (_, i) => `127.0.0.${i + 2}`), '60 sources, 1 prefix');
    expect(r.honest).to.equal(r.asked);
    // The flood got at most the overall budget (200/s for 5 s) plus its burst.
    expect(r.flood).to.be.at.most(200 * 5 + 400);
    expect(r.limited).to.be.greaterThan(0);
  });

  it('60 flooding addresses over 12 /24s: the honest peer is still answered every time', async () => {
    const r = await run(Array.from({ length: 60 }, (_, i) => `127.0.${10 + (i % 12)}.${Math.floor(i / 12) + 2}`), '60 sources, 12 prefixes');
    expect(r.honest).to.equal(r.asked);
    expect(r.flood).to.be.at.most(200 * 5 + 400);
  });
});
