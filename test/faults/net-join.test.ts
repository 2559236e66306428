/**
 * Joining over a lossy link, datagram by datagram: the exact losses that cut a node off in
 * the lossy-network tests (about one node in 16 at 10% loss), replayed deterministically by
 * a transport that drops chosen datagrams of the joining node.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Address } from '../../src/net/address.js';
import { DhtNode } from '../../src/dht/node.js';
import type { Transport } from '../../src/transport/transport.js';
import { UdpTransport } from '../../src/transport/udp.js';
import { decodeMessage } from '../../src/wire/codec.js';
import { FindNode, Ping } from '../../src/dht/messages.js';
import { closeAll, LOOPBACK, startNetwork } from '../helpers/network.js';

/** Drops the first `lose[type]` datagrams of each message type this socket sends. */
class LoseChosen implements Transport {
  private readonly seen = new Map<number, number>();
  constructor(
    private readonly inner: Transport,
    private readonly lose: Map<number, number>,
  ) {}
  get address(): Address {
    return this.inner.address;
  }
  send(datagram: Uint8Array, to: Address): void {
    const type = decodeMessage(datagram).type;
    const n = (this.seen.get(type) ?? 0) + 1;
    this.seen.set(type, n);
    if (n > (this.lose.get(type) ?? 0)) this.inner.send(datagram, to);
  }
  onDatagram(handler: (datagram: Uint8Array, from: Address) => void): void {
    this.inner.onDatagram(handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('joining over a lossy link', function () {
  this.timeout(30_000);
  let network: DhtNode[] = [];
  const joined: DhtNode[] = [];
  before(async () => {
    network = await startNetwork(4);
  });
  after(() => closeAll([...joined, ...network]));

  /** A node that joins through the first of `network`, losing its first PINGs and FIND_NODEs. */
  async function join(lose: { pings?: number; findNodes?: number }, over: Partial<Parameters<typeof DhtNode.create>[0]> = {}): Promise<DhtNode> {
    const transport = new LoseChosen(await UdpTransport.bind('127.0.0.1', 0), new Map([[Ping.type, lose.pings ?? 0], [FindNode.type, lose.findNodes ?? 0]]));
    // Short timeouts: every loss here costs one. The production retransmit count (1).
    const node = await DhtNode.create({ ...LOOPBACK, requestTimeoutMs: 300, lookupTimeoutMs: 300, retries: 1, ...over, transport, bootstrap: [network[0]!.address] });
    joined.push(node);
    return node;
  }

  it('joins although the first PING and its retransmit are lost', async () => {
    const node = await join({ pings: 2 });
    expect(node.contacts().length).to.be.greaterThan(0);
  });

  it('finds the other nodes although the first FIND_NODE of the join is lost', async () => {
    // The join lookup's only query (to the bootstrap node) is lost: the lookup is tried again.
    const node = await join({ findNodes: 1 }, { refreshOnJoin: false });
    expect(node.contacts().length).to.be.greaterThan(1);
  });

  it('is not cut off after losing its only contact: lookups start from the bootstrap node again', async () => {
    // The join lookup and its second try both lost: the bootstrap node failed twice and
    // left the table, which is now empty.
    const node = await join({ findNodes: 2 }, { refreshOnJoin: false });
    expect(node.contacts()).to.deep.equal([]);
    const put = await node.put(randomBytes(32));
    expect(put.stored, 'nodes that confirmed the STORE').to.be.greaterThan(1);
    expect(node.contacts().length).to.be.greaterThan(1);
  });
});
