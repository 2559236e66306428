/**
 * Many contracts cancelled in few CONTRACT_CANCELs (`more` + `msig`: a prune's cancellations),
 * over real UDP between real peers: one message for up to 17 contracts of one host, every one
 * cancelled on the host; a forged `msig` gets no answer at all; a batch cannot cancel another
 * owner's contract with the host; IDs the host does not know are not acknowledged.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { signCancel, signCancelMany } from '../src/contracts/contract.js';
import { Cancel, Cancelled } from '../src/contracts/messages.js';
import type { NegotiationRequest } from '../src/contracts/negotiation.js';
import type { StoredContract } from '../src/contracts/store.js';
import type { Peer } from '../src/peer/peer.js';
import { toHex } from '../src/util/bytes.js';
import { MiB, startPeers, stopAll } from './helpers/peers.js';

const shard = (): Omit<NegotiationRequest, 'replicas'> => ({ shardHash: randomBytes(32), shardSize: 1 * MiB, merkleRoot: randomBytes(32) });

describe('CONTRACT_CANCEL with more contracts at once (real peers over UDP)', function () {
  this.timeout(60_000);
  let peers: Peer[] = [];
  let owner: Peer;
  let host: Peer;
  let other: Peer;

  before(async () => {
    peers = await startPeers(3);
    [host, owner, other] = peers as [Peer, Peer, Peer];
  });
  after(() => stopAll(peers));

  async function contractsWithHost(from: Peer, n: number): Promise<StoredContract[]> {
    const out: StoredContract[] = [];
    for (let i = 0; i < n; i++) out.push(...(await from.negotiate({ ...shard(), replicas: 1, candidates: [host.address] })).contracts);
    return out;
  }
  const hostState = (c: StoredContract) => host.contracts().find((x) => x.id === toHex(c.contract.id))?.state;

  it('cancels 20 contracts with 2 messages; forged, foreign and unknown IDs are not cancelled', async () => {
    const mine = await contractsWithHost(owner, 20);
    const [theirs] = await contractsWithHost(other, 1);
    expect(mine.map(hostState).every((s) => s === 'pending')).to.equal(true);
    const ids = mine.slice(0, 3).map((c) => c.contract.id);

    // A forged msig: no answer at all, nothing cancelled.
    const forged = await owner.dht.rpc
      .request(host.address, Cancel, { contractId: ids[0]!, signature: signCancel(owner.signing, ids[0]!), more: ids.slice(1), manySignature: randomBytes(64) }, Cancelled, { timeoutMs: 500, retries: 0 })
      .then(() => 'answered', () => 'no answer');
    expect(forged).to.equal('no answer');
    expect(mine.slice(0, 3).map(hostState)).to.deep.equal(['pending', 'pending', 'pending']);

    // Another owner's contract and an unknown ID in our batch: the host cancels ours only.
    const unknown = randomBytes(32);
    const batch = [ids[0]!, theirs!.contract.id, unknown];
    const { body } = await owner.dht.rpc.request(host.address, Cancel, { contractId: batch[0]!, signature: signCancel(owner.signing, batch[0]!), more: batch.slice(1), manySignature: signCancelMany(owner.signing, batch) }, Cancelled);
    expect(body.more).to.deep.equal([]);
    expect(hostState(mine[0]!)).to.equal('cancelled');
    expect(hostState(theirs!)).to.equal('pending');

    // The other 19 of ours through the owner's cancelMany: 17 + 2, two requests handled by the host.
    const handled = host.dht.rpc.stats().requestsHandled;
    await owner.contractService.owner.cancelMany(mine.slice(1), 8);
    expect(host.dht.rpc.stats().requestsHandled - handled).to.equal(2);
    expect(mine.map(hostState).every((s) => s === 'cancelled')).to.equal(true);
    // Here too (the first was cancelled by the raw message above, so only the host knows).
    const live = owner.contracts().filter((c) => c.role === 'owner' && c.counterpart === toHex(host.publicKey) && c.state !== 'cancelled');
    expect(live.map((c) => c.id)).to.deep.equal([toHex(mine[0]!.contract.id)]);
    expect(hostState(theirs!)).to.equal('pending');
    expect(owner.contractService.owner.unsentCancels.size).to.equal(0);
  });
});
