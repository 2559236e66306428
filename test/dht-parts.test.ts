/**
 * The parts DhtNode is built from, without sockets: option defaults and checks, the request
 * handlers, and the maintenance service's start/stop.
 */
import { MIN_REQUEST_BYTES, REQUEST_PAD_BYTES, replyBudget, replyBytes, requestBytes, VERIFY_PING_BYTES } from '../src/dht/reflection.js';
import { MAX_SALT_BYTES } from '../src/dht/records.js';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { DEFAULTS } from '../src/dht/constants.js';
import { DhtError } from '../src/dht/errors.js';
import { resolveSettings } from '../src/dht/options.js';
import { closestExcept } from '../src/dht/handlers/closest.js';
import { findNodeHandler } from '../src/dht/handlers/find-node.js';
import { findValueHandler } from '../src/dht/handlers/find-value.js';
import { storeHandler } from '../src/dht/handlers/store.js';
import { Maintenance } from '../src/dht/maintenance.js';
import { ErrorCode, Nodes, Stored, Value } from '../src/dht/messages.js';
import { immutableKey } from '../src/dht/records.js';
import { compareDistance } from '../src/dht/id.js';
import { ValueStore } from '../src/dht/value-store.js';
import { WriteTokens } from '../src/dht/tokens.js';
import { ErrorReply, type Reply } from '../src/rpc/rpc.js';
import { type Contact, contactFromAddress } from '../src/net/node-id.js';
import { ManualClock } from '../src/util/clock.js';
import { toHex } from '../src/util/bytes.js';

const contacts = (n: number): Contact[] => Array.from({ length: n }, (_, i) => contactFromAddress({ host: `10.3.0.${i + 1}`, port: 9 }));
const envelope = undefined as never;

/** A table that knows `all` and answers closest-first like RoutingTable.closest. */
const tableOf = (all: Contact[]) => ({
  closest: (target: Uint8Array, n: number) => [...all].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n),
  get: (id: Uint8Array) => all.find((c) => Buffer.from(c.id).equals(id)),
});

describe('DHT parts (no sockets)', function () {
  this.timeout(5000);

  describe('options', () => {
    it('applies every default once and keeps what is given', () => {
      const s = resolveSettings({});
      expect(s.k).to.equal(DEFAULTS.k);
      expect(s.maxQueued).to.equal(DEFAULTS.maxQueued);
      expect(s.rateLimit).to.deep.equal(DEFAULTS.rateLimit);
      expect(s.refreshOnJoin).to.equal(true);
      const given = resolveSettings({ k: 8, maxQueued: 10, rateLimit: null, refreshOnJoin: false, retries: 0 });
      expect([given.k, given.maxQueued, given.rateLimit, given.refreshOnJoin, given.retries]).to.deep.equal([8, 10, null, false, 0]);
    });

    it('refuses options out of range with DhtError BAD_OPTION', () => {
      for (const bad of [{ k: 0 }, { k: 21 }, { alpha: 0 }, { alpha: 1.5 }, { valueTtlMs: 2 * 86_400_000 }, { maxQueued: -1 }]) {
        expect(() => resolveSettings(bad), JSON.stringify(bad))
          .to.throw(DhtError)
          .with.property('code', 'BAD_OPTION');
      }
    });
  });

  describe('handlers', () => {
    it('offers the k closest contacts, never the asker', () => {
      const all = contacts(10);
      const target = randomBytes(20);
      const byDistance = tableOf(all).closest(target, 10);
      const asker = byDistance[0]!;
      const offered = closestExcept(tableOf(all), target, asker, 3).map((c) => toHex(c.id));
      expect(offered).to.deep.equal(byDistance.slice(1, 4).map((c) => toHex(c.id)));
    });

    it('FIND_NODE answers NODES with a token for the asker; FIND_VALUE answers the record or nodes', () => {
      const clock = new ManualClock();
      const tokens = new WriteTokens(clock);
      const values = new ValueStore(clock, { maxEntries: 10, maxBytes: 1000 });
      const [asker, ...rest] = contacts(5);
      // The asker is a verified contact (it is in the table): full answers (strangers: below).
      const components = { table: { ...tableOf(rest), get: tableOf([asker!]).get }, tokens, values };
      const nodes = findNodeHandler(components, { k: 2 })({ target: randomBytes(20) }, asker!, envelope) as Reply;
      expect(nodes.spec).to.equal(Nodes);
      const body = nodes.body as { nodes: Contact[]; token: Uint8Array };
      expect(body.nodes).to.have.length(2);
      expect(tokens.check(asker!, body.token)).to.equal(true);

      const value = Buffer.from('held');
      values.put(immutableKey(value), { value }, 1000, 'x');
      const found = findValueHandler(components, { k: 2 })({ key: immutableKey(value) }, asker!, envelope) as Reply;
      expect(found.spec).to.equal(Value);
      expect((found.body as { nodes: Contact[]; record: { value: Uint8Array } }).nodes).to.deep.equal([]);
      expect(Buffer.from((found.body as { record: { value: Uint8Array } }).record.value).toString()).to.equal('held');
      const missing = findValueHandler(components, { k: 2 })({ key: randomBytes(20) }, asker!, envelope) as Reply;
      expect((missing.body as { nodes: Contact[]; record?: unknown }).nodes).to.have.length(2);
      expect((missing.body as { record?: unknown }).record).to.equal(undefined);
    });

    it('a stranger gets at most 3x its request (NODES trimmed, a big value withheld); a padded request gets it all', () => {
      const clock = new ManualClock();
      const tokens = new WriteTokens(clock);
      const values = new ValueStore(clock, { maxEntries: 10, maxBytes: 10_000 });
      const [stranger, ...rest] = contacts(21);
      const components = { table: tableOf(rest), tokens, values };
      const find = findNodeHandler(components, { k: 20 });
      const small = find({ target: randomBytes(20), padded: 0 }, stranger!, envelope) as Reply;
      const smallBytes = replyBytes(Nodes, small.body as never);
      expect(smallBytes).to.be.at.most(3 * MIN_REQUEST_BYTES - VERIFY_PING_BYTES);
      expect((small.body as { nodes: Contact[] }).nodes.length).to.be.lessThan(20);
      const padded = find({ target: randomBytes(20), padded: REQUEST_PAD_BYTES.FIND_NODE }, stranger!, envelope) as Reply;
      expect((padded.body as { nodes: Contact[] }).nodes).to.have.length(20);

      const value = randomBytes(880);
      values.put(immutableKey(value), { value }, 1000, 'x');
      const withheld = findValueHandler(components, { k: 20 })({ key: immutableKey(value), padded: 0 }, stranger!, envelope) as Reply;
      expect((withheld.body as { record?: unknown }).record).to.equal(undefined);
      const given = findValueHandler(components, { k: 20 })({ key: immutableKey(value), padded: REQUEST_PAD_BYTES.FIND_VALUE }, stranger!, envelope) as Reply;
      expect((given.body as { record?: { value: Uint8Array } }).record?.value).to.deep.equal(value);

      // The paddings cover the largest answers: 20 IPv6 contacts, the largest signed record.
      const v6 = Array.from({ length: 20 }, (_, i) => ({ host: `2001:db8::${i + 1}`, port: 65535 }));
      expect(replyBytes(Nodes, { nodes: v6, token: new Uint8Array(8) })).to.be.at.most(replyBudget(requestBytes(REQUEST_PAD_BYTES.FIND_NODE)));
      const biggest = { value: randomBytes(880), publicKey: randomBytes(32), signature: randomBytes(64), seq: Number.MAX_SAFE_INTEGER, salt: randomBytes(MAX_SALT_BYTES) };
      expect(replyBytes(Value, { nodes: [], token: new Uint8Array(8), record: biggest })).to.be.at.most(replyBudget(requestBytes(REQUEST_PAD_BYTES.FIND_VALUE)));
    });

    it('STORE keeps a good record for at most valueTtlMs, refuses a bad token or record and counts refusals', () => {
      const clock = new ManualClock();
      const tokens = new WriteTokens(clock);
      const values = new ValueStore(clock, { maxEntries: 10, maxBytes: 1000 });
      let refused = 0;
      const store = storeHandler({ tokens, values, refused: () => refused++ }, { valueTtlMs: 1000 });
      const [from] = contacts(1);
      const value = Buffer.from('v');
      const key = immutableKey(value);
      const ok = store({ key, token: tokens.issue(from!), ttl: 86_400, record: { value } }, from!, envelope) as Reply;
      expect(ok.spec).to.equal(Stored);
      clock.advance(1000);
      expect(values.get(key), 'capped at valueTtlMs').to.equal(undefined);
      const badToken = store({ key, token: new Uint8Array(8), ttl: 1, record: { value } }, from!, envelope) as Reply;
      expect(badToken.spec).to.equal(ErrorReply);
      expect((badToken.body as { code: number }).code).to.equal(ErrorCode.BAD_TOKEN);
      const wrongKey = store({ key: randomBytes(20), token: tokens.issue(from!), ttl: 1, record: { value } }, from!, envelope) as Reply;
      expect((wrongKey.body as { code: number }).code).to.equal(ErrorCode.KEY_MISMATCH);
      expect(refused).to.equal(2);
    });
  });

  describe('maintenance service', () => {
    function service(clock: ManualClock, bootstrap: () => Promise<void>) {
      const counters = { maintenanceErrors: 0 };
      const passes: number[] = [];
      const m = new Maintenance(
        {
          clock,
          table: { size: 0, staleBucketTargets: () => [] },
          store: { sweep: () => (passes.push(clock.now()), 0) },
          join: { addresses: [{ host: '10.3.0.1', port: 9 }], bootstrap },
          lookups: { findNode: async () => ({ contacts: [], tokens: new Map(), rounds: 0, messages: 0, failures: 0 }) },
          values: { republishDue: async () => {}, replicateDue: async () => {} },
          counters,
        },
        { maintenanceIntervalMs: 100, refreshIntervalMs: 1000 },
      );
      return { m, passes, counters };
    }
    const settle = () => new Promise((r) => setImmediate(r));

    it('runs a pass every interval between start and stop', async () => {
      const clock = new ManualClock();
      const { m, passes } = service(clock, async () => {});
      const t0 = clock.now();
      clock.advance(100);
      expect(passes, 'not started').to.deep.equal([]);
      m.start();
      clock.advance(100);
      await settle();
      clock.advance(100);
      await settle();
      expect(passes.map((t) => t - t0)).to.deep.equal([200, 300]);
      m.stop();
      clock.advance(500);
      await m.run();
      expect(passes.map((t) => t - t0), 'stopped').to.deep.equal([200, 300]);
    });

    it('counts a failed re-join instead of dropping it', async () => {
      const clock = new ManualClock();
      const { m, counters } = service(clock, async () => {
        throw new DhtError('NO_BOOTSTRAP', 'no bootstrap node answered');
      });
      await m.run();
      expect(counters.maintenanceErrors).to.equal(1);
      m.stop();
    });
  });
});
