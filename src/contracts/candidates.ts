/**
 * Candidate gathering for negotiation: which hosts an owner asks, and in what order.
 *
 * Candidates come from DHT lookups of `replicas` targets derived from the shard hash, so
 * they are spread over the ID space; each is asked HELLO for its key and free space. Peers
 * that owe us storage come first (that is how a host collects what it is owed), then the
 * rest. Never ourselves, never a host in `exclude`, never one key twice, never a defaulter or
 * a host without the space.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../util/clock.js';
import { type Address, formatAddress } from '../net/address.js';
import { toHex } from '../util/bytes.js';
import type { DhtNode } from '../dht/node.js';
import type { Introduce, Introduction } from './introduce.js';
import type { NegotiationRequest } from './negotiation.js';
import { owesUs } from './policy.js';
import type { Refusal } from './refusals.js';
import type { ContractStore } from './store.js';

/** A host that answered HELLO at `address`. */
export interface Candidate {
  address: Address;
  info: Introduction;
}

export interface CandidateComponents {
  dht: Pick<DhtNode, 'findNode'>;
  store: Pick<ContractStore, 'balance' | 'counterpart' | 'counterpartsAt' | 'failures'>;
  clock: Clock;
  /** Who answers at an address (HELLO, src/peer/hello.ts). */
  introduce: Introduce;
  /** Our own key: never a candidate. */
  self: Uint8Array;
  /** Called when a peer that owes us storage does not answer. */
  strike(host: Uint8Array): void;
  /**
   * Where our friends are now (hosts the user named, found by key: src/peer/friends.ts), asked
   * before the DHT's: a friend behind a NAT is in no routing table, yet can host (punched).
   */
  friends?(): Promise<Address[]>;
}

export class CandidateFinder {
  constructor(
    private readonly components: CandidateComponents,
    private readonly init: { spare: number; helloGraceMs: number },
  ) {}

  /**
   * The hosts to propose to, in order: found in the DHT (or `req.candidates`), asked HELLO,
   * ourselves, excluded and unusable hosts left out (the unusable ones added to `refusals`),
   * debtors first (the most owed first), then the rest in the order found.
   */
  async rank(req: NegotiationRequest, refusals: Refusal[]): Promise<Candidate[]> {
    const addresses = req.candidates ?? (await this.discover(req));
    const exclude = new Set((req.exclude ?? []).map(toHex));
    exclude.add(toHex(this.components.self));
    const answers = await this.helloAll(addresses, req, exclude, refusals);
    const seenKeys = new Set<string>();
    const debtors: Candidate[] = [];
    const others: Candidate[] = [];
    for (const a of answers) {
      if (!a) continue;
      const key = toHex(a.info.publicKey);
      if (exclude.has(key) || seenKeys.has(key)) continue;
      seenKeys.add(key);
      const unusable = this.unusable(a.info, req);
      if (unusable) {
        refusals.push({ address: a.address, host: a.info.publicKey, reason: unusable });
        continue;
      }
      (owesUs(this.components.store.balance(a.info.publicKey), req.shardSize) ? debtors : others).push(a);
    }
    const owed = (c: Candidate) => {
      const b = this.components.store.balance(c.info.publicKey);
      return b.keptForThem - b.keptByThem;
    };
    debtors.sort((a, b) => owed(b) - owed(a));
    return [...debtors, ...others];
  }

  /** Why a host that answered HELLO cannot take this shard, or null if it can. */
  private unusable(info: Introduction, req: NegotiationRequest): 'HOST_IS_DEFAULTER' | 'HOST_LOST_DATA' | 'TOO_LITTLE_SPACE' | null {
    // Found by test/faults/lies-contracts.test.ts: a peer we declared a defaulter was still
    // asked to keep our data (and refused again). It is not trusted with anything any more.
    if (this.components.store.counterpart(info.publicKey).defaulterSince !== null) return 'HOST_IS_DEFAULTER';
    // A host that failed an audit is remembered for good (host-failures.ts), across restarts.
    if (this.components.store.failures.lostData(info.publicKey)) return 'HOST_LOST_DATA';
    if (info.free < req.shardSize) return 'TOO_LITTLE_SPACE';
    return null;
  }

  /**
   * Asks every address HELLO at once, and returns (in address order) the answers in so far as
   * soon as either every address has answered or failed, or `replicas + spare` usable hosts
   * answered, or `replicas` did and `helloGraceMs` has passed since: a dead or slow peer among
   * the candidates then costs at most the grace, not its HELLO timeouts. HELLOs still running
   * go on in the background; their silence still counts against a peer that owes us storage.
   */
  private helloAll(addresses: Address[], req: NegotiationRequest, exclude: Set<string>, refusals: Refusal[]): Promise<(Candidate | null)[]> {
    const answers: (Candidate | null)[] = addresses.map(() => null);
    const usableKeys = new Set<string>();
    let settled = 0;
    let done = false;
    let grace: ReturnType<Clock['setTimeout']> | null = null;
    return new Promise((resolve) => {
      const finish = () => {
        if (done) return;
        done = true;
        if (grace) this.components.clock.clearTimeout(grace);
        resolve(answers.slice());
      };
      const check = () => {
        if (settled === addresses.length || usableKeys.size >= req.replicas + this.init.spare) return finish();
        if (usableKeys.size >= req.replicas && !grace) grace = this.components.clock.setTimeout(finish, this.init.helloGraceMs);
      };
      addresses.forEach((address, i) => {
        this.components.introduce(address).then(
          (info) => {
            answers[i] = { address, info };
            const key = toHex(info.publicKey);
            if (!exclude.has(key) && !this.unusable(info, req)) usableKeys.add(key);
          },
          () => {
            // Silence from the last known address of a peer that owes us counts against it.
            for (const cp of this.components.store.counterpartsAt(formatAddress(address))) {
              if (owesUs(this.components.store.balance(cp.key), req.shardSize)) this.components.strike(cp.key);
            }
            if (!done) refusals.push({ address, host: null, reason: 'NO_ANSWER' });
          },
        ).finally(() => {
          settled++;
          check();
        });
      });
      check();
    });
  }

  /** Contacts near `replicas` points of the ID space derived from the shard, interleaved. */
  private async discover(req: NegotiationRequest): Promise<Address[]> {
    const lists = await Promise.all(
      Array.from({ length: req.replicas }, (_, i) => {
        const target = new Uint8Array(createHash('sha1').update(req.shardHash).update(Uint8Array.of(i)).digest());
        return this.components.dht.findNode(target);
      }),
    );
    const out: Address[] = [];
    const seen = new Set<string>();
    for (const friend of (await this.components.friends?.().catch(() => [])) ?? []) {
      if (seen.has(formatAddress(friend))) continue;
      seen.add(formatAddress(friend));
      out.push(friend);
    }
    for (let i = 0; lists.some((l) => i < l.length); i++) {
      for (const list of lists) {
        const c = list[i];
        if (!c || seen.has(formatAddress(c))) continue;
        seen.add(formatAddress(c));
        out.push({ host: c.host, port: c.port });
      }
    }
    return out;
  }
}
