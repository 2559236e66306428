import { expect } from 'chai';
import { RpcEndpoint, RpcError } from '../src/rpc/rpc.js';
import { UdpTransport } from '../src/transport/udp.js';
import { ManualClock } from '../src/util/clock.js';
import { nodeIdFromAddress } from '../src/net/node-id.js';
import { encodeMessage } from '../src/wire/codec.js';
import { Ping, Pong } from '../src/dht/messages.js';
import { RawPeer, until } from './helpers/network.js';

describe('RPC endpoint on real UDP', function () {
  this.timeout(10_000);
  const clock = new ManualClock();
  let endpoint: RpcEndpoint;
  const raws: RawPeer[] = [];

  beforeEach(async () => {
    const transport = await UdpTransport.bind('127.0.0.1', 0);
    endpoint = new RpcEndpoint(transport, nodeIdFromAddress(transport.address), {
      clock,
      timeoutMs: 1000,
      retries: 2,
      maxInFlight: 1,
      maxQueued: 2,
      rateLimit: null,
    });
  });
  afterEach(async () => {
    await endpoint.close();
    await Promise.all(raws.splice(0).map((r) => r.close()));
  });

  async function raw(): Promise<RawPeer> {
    const r = await RawPeer.open();
    raws.push(r);
    return r;
  }

  it('accepts a response only from the address the request went to', async () => {
    const [target, impostor] = [await raw(), await raw()];
    const reply = endpoint.request(target.address, Ping, {}, Pong);
    await until(() => target.ofType(Ping).length === 1, 'PING');
    const { txid } = target.ofType(Ping)[0]!;
    await impostor.send(encodeMessage(Pong, txid, impostor.id, {}), endpoint.transport.address);
    await until(() => endpoint.stats().droppedUnexpected === 1, 'impostor dropped');
    await target.send(encodeMessage(Pong, txid, target.id, {}), endpoint.transport.address);
    const { from } = await reply;
    expect(from.port).to.equal(target.address.port);
    expect(endpoint.stats().responsesAccepted).to.equal(1);
  });

  it('retransmits with the same transaction ID, then times out', async () => {
    const silent = await raw();
    const reply = endpoint.request(silent.address, Ping, {}, Pong).catch((e: unknown) => e);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await until(() => silent.ofType(Ping).length === attempt, `attempt ${attempt}`);
      clock.advance(1000);
    }
    const err = await reply;
    expect(err).to.be.instanceOf(RpcError);
    expect((err as RpcError).code).to.equal('TIMEOUT');
    const ids = new Set(silent.ofType(Ping).map((p) => Buffer.from(p.txid).toString('hex')));
    expect(ids.size).to.equal(1);
    expect(endpoint.stats()).to.include({ retransmits: 2, timeouts: 1, requestsInFlight: 0 });
  });

  it('caps requests in flight and waiting, and fails them all on close', async () => {
    const silent = await raw();
    const pending = [1, 2, 3].map(() => endpoint.request(silent.address, Ping, {}, Pong).catch((e: unknown) => e));
    await until(() => silent.ofType(Ping).length === 1, 'first PING');
    expect(endpoint.stats()).to.include({ requestsInFlight: 1, requestsQueued: 2 });
    const refused = await endpoint.request(silent.address, Ping, {}, Pong).catch((e: unknown) => e);
    expect((refused as RpcError).code).to.equal('QUEUE_FULL');
    await endpoint.close();
    const codes = (await Promise.all(pending)).map((e) => (e as RpcError).code);
    expect(codes).to.deep.equal(['CLOSED', 'CLOSED', 'CLOSED']);
    expect(silent.ofType(Ping)).to.have.length(1);
  });
});
