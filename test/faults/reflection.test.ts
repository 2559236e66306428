/**
 * UDP reflection (issue 19): how many bytes a peer sends toward an address that has not proven
 * it is the sender's, per byte it received from there, for each message kind a stranger may
 * send. A forged source makes the peer send its answer (and the verification PING it sends to
 * strangers) to the victim; QUIC allows at most 3x before address validation, and so do we.
 * Each kind is asked from a fresh address (127.0.3.x), so none is known to the target.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { DhtNode } from '../../src/dht/node.js';
import { FindNode, FindValue, Ping, Store } from '../../src/dht/messages.js';
import { immutableKey } from '../../src/dht/records.js';
import { compareDistance } from '../../src/dht/id.js';
import { Cancel, Propose } from '../../src/contracts/messages.js';
import { encodeTerms, propose } from '../../src/contracts/contract.js';
import { generateSigningKeyPair } from '../../src/crypto/ed25519.js';
import { CHALLENGE_BYTES, Hello } from '../../src/peer/hello.js';
import type { Peer } from '../../src/peer/peer.js';
import type { Address } from '../../src/net/address.js';
import { nodeIdFromAddress } from '../../src/net/node-id.js';
import { encodeMessage } from '../../src/wire/codec.js';
import { LOOPBACK, until } from '../helpers/network.js';
import type { MessageSpec } from '../../src/wire/codec.js';

/** The same message without the padding our own peers add: what an attacker sends. */
function unpadded<B>(spec: MessageSpec<B>): MessageSpec<B> {
  return {
    ...spec,
    encode: (b: B) => {
      const { pad: _pad, ...rest } = spec.encode(b);
      return rest;
    },
  };
}
import { GiB, MiB, startPeers, stopAll } from '../helpers/peers.js';

/** Bytes that came back to one fresh address for one request of a kind, and what it sent. */
async function reflect(host: string, to: Address, make: (from: Address) => Uint8Array): Promise<{ sent: number; received: number; datagrams: number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  const from = { host, port: socket.address().port };
  let received = 0;
  let datagrams = 0;
  socket.on('message', (msg) => {
    received += msg.length;
    datagrams++;
  });
  const request = make(from);
  await new Promise<void>((resolve) => socket.send(request, to.port, to.host, () => resolve()));
  // Answers and the verification PING leave at once; wait long enough for both on a loaded machine.
  await new Promise((r) => setTimeout(r, 400));
  socket.close();
  return { sent: request.length, received, datagrams };
}

describe('faults: UDP reflection toward unproven addresses', function () {
  this.timeout(120_000);
  let peers: Peer[] = [];
  const nodes: DhtNode[] = [];
  after(async () => {
    for (const n of nodes) await n.close();
    await stopAll(peers);
  });

  it('measures bytes sent per byte received for each message kind a stranger may send', async () => {
    peers = await startPeers(1);
    const target = peers[0]!;
    // A full routing table (so NODES carries k contacts) and a value of the largest size held here.
    for (let i = 0; i < 24; i++) nodes.push(await DhtNode.create({ ...LOOPBACK, bootstrap: [target.address] }));
    await until(() => target.dht.contacts().length >= 20, 'a full routing table at the target');
    // A value whose key is closer to the target than to any other node here: whoever stores it,
    // the target is among the k closest and keeps it (a random value left the target out of the
    // k closest now and then, and "value held" measured a "not held" answer).
    const others = nodes.map((node) => node.id);
    let value = randomBytes(880);
    while (others.some((id) => compareDistance(immutableKey(value), id, target.dht.id) < 0)) value = randomBytes(880);
    await nodes[0]!.put(value);
    const owner = generateSigningKeyPair();
    const kinds: Record<string, (from: Address) => Uint8Array> = {
      PING: (from) => encodeMessage(Ping, randomBytes(8), nodeIdFromAddress(from), {}),
      'FIND_NODE (unpadded)': (from) => encodeMessage(unpadded(FindNode), randomBytes(8), nodeIdFromAddress(from), { target: randomBytes(20) }),
      'FIND_NODE (padded, as our peers send it)': (from) => encodeMessage(FindNode, randomBytes(8), nodeIdFromAddress(from), { target: randomBytes(20) }),
      'FIND_VALUE, value held (unpadded)': (from) => encodeMessage(unpadded(FindValue), randomBytes(8), nodeIdFromAddress(from), { key: immutableKey(value) }),
      'FIND_VALUE, value held (padded)': (from) => encodeMessage(FindValue, randomBytes(8), nodeIdFromAddress(from), { key: immutableKey(value) }),
      'FIND_VALUE, not held (unpadded)': (from) => encodeMessage(unpadded(FindValue), randomBytes(8), nodeIdFromAddress(from), { key: randomBytes(20) }),
      'HELLO (unpadded)': (from) => encodeMessage(unpadded(Hello), randomBytes(8), nodeIdFromAddress(from), { challenge: randomBytes(CHALLENGE_BYTES) }),
      'HELLO (padded)': (from) => encodeMessage(Hello, randomBytes(8), nodeIdFromAddress(from), { challenge: randomBytes(CHALLENGE_BYTES) }),
      'STORE (bad token)': (from) =>
        encodeMessage(Store, randomBytes(8), nodeIdFromAddress(from), { key: immutableKey(value), token: randomBytes(8), ttl: 60, record: { value } }),
      CONTRACT_PROPOSE: (from) => {
        const p = propose(owner, {
          host: target.publicKey,
          shardHash: randomBytes(32),
          shardSize: MiB,
          merkleRoot: randomBytes(32),
          durationSeconds: 86_400,
          auditIntervalSeconds: 3600,
          auditSamples: 8,
          ownerOffer: GiB,
          nowSeconds: Math.floor(Date.now() / 1000),
        });
        return encodeMessage(Propose, randomBytes(8), nodeIdFromAddress(from), { terms: encodeTerms(p.terms), ownerSignature: p.ownerSignature });
      },
      'CONTRACT_CANCEL (unknown)': (from) => encodeMessage(Cancel, randomBytes(8), nodeIdFromAddress(from), { contractId: randomBytes(32), signature: randomBytes(64) }),
    };
    const rows: string[] = [];
    const ratios: Record<string, number> = {};
    const answered: Record<string, number> = {};
    let n = 0;
    for (const [kind, make] of Object.entries(kinds)) {
      const r = await reflect(`127.0.3.${++n}`, target.address, make);
      ratios[kind] = r.received / r.sent;
      answered[kind] = r.datagrams;
      rows.push(`| ${kind} | ${r.sent} | ${r.datagrams} | ${r.received} | ${ratios[kind]!.toFixed(2)} |`);
    }
    console.log(['      | kind | bytes in | datagrams out | bytes out | out/in |', ...rows.map((r) => `      ${r}`)].join('\n'));
    for (const [kind, ratio] of Object.entries(ratios)) expect(ratio, kind).to.be.at.most(3);
    // Padded requests (ours) still get their full answers from a node that does not know us:
    // the answer plus the verification PING.
    for (const kind of ['FIND_NODE (padded, as our peers send it)', 'FIND_VALUE, value held (padded)', 'HELLO (padded)']) expect(answered[kind], kind).to.equal(2);
    expect(ratios['FIND_VALUE, value held (padded)']).to.be.greaterThan(2);
  });
});
