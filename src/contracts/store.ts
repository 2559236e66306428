/**
 * Contracts, counterparts and the ledger in SQLite. Each method is one statement or one
 * transaction, so a crash never leaves a contract half-recorded.
 */
import { HostFailures } from './host-failures.js';
import type { Db } from '../storage/database.js';
import { parseAddress } from '../net/address.js';
import { type Contract, decodeTerms, encodeTerms } from './contract.js';
import { type Balance, debt, GOOD_STANDING, networkPrefix, type Standing } from './policy.js';

export type ContractRole = 'owner' | 'host';
/** pending: signed, shard not yet stored (host holds the space). active: shard stored. */
export type ContractState = 'pending' | 'active' | 'cancelled' | 'expired' | 'released';

export interface StoredContract {
  contract: Contract;
  role: ContractRole;
  counterpart: Uint8Array;
  counterpartAddress: string | null;
  state: ContractState;
  /** ms: when a pending contract's reservation lapses. */
  reservedUntil: number | null;
  updatedAt: number;
}

/** A contract's columns as stored (see listPlain). */
export interface PlainContractRow {
  id: Uint8Array;
  role: ContractRole;
  counterpart: Uint8Array;
  counterpartAddress: string | null;
  shardHash: Uint8Array;
  size: number;
  state: ContractState;
  /** Unix seconds, from the terms. */
  createdAt: number;
  expiresAt: number;
}

export interface CounterpartRow extends Standing {
  key: Uint8Array;
  lastAddress: string | null;
  offered: number | null;
}

export interface LedgerRow extends Balance {
  counterpart: Uint8Array;
}

interface ContractRowRaw {
  id: Buffer;
  role: ContractRole;
  counterpart: Buffer;
  counterpart_address: string | null;
  terms: Buffer;
  owner_signature: Buffer;
  host_signature: Buffer;
  state: ContractState;
  reserved_until: number | null;
  updated_at: number;
}

interface CounterpartRaw {
  key: Buffer;
  last_address: string | null;
  offered: number | null;
  strikes: number;
  strike_since: number | null;
  defaulter_since: number | null;
}

const LIVE = `state IN ('pending', 'active')`;

export class ContractStore {
  /** Hosts that failed our audits, remembered for good (host-failures.ts). */
  readonly failures: HostFailures;

  constructor(private readonly db: Db) {
    this.failures = new HostFailures(db);
  }

  insert(c: { contract: Contract; role: ContractRole; counterpartAddress: string | null; state: ContractState; reservedUntil: number | null; now: number }): void {
    const { terms } = c.contract;
    if (!c.contract.hostSignature) throw new Error('only countersigned contracts are stored');
    this.db
      .prepare(
        `INSERT INTO contracts (id, role, counterpart, counterpart_address, terms, owner_signature, host_signature,
           shard_hash, size, state, created_at, expires_at, reserved_until, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.contract.id,
        c.role,
        c.role === 'host' ? terms.owner : terms.host,
        c.counterpartAddress,
        encodeTerms(terms),
        c.contract.ownerSignature,
        c.contract.hostSignature,
        terms.shardHash,
        terms.shardSize,
        c.state,
        terms.createdAt,
        terms.expiresAt,
        c.reservedUntil,
        c.now,
      );
  }

  get(id: Uint8Array): StoredContract | undefined {
    const row = this.db.prepare('SELECT * FROM contracts WHERE id = ?').get(id) as ContractRowRaw | undefined;
    return row ? toStored(row) : undefined;
  }

  /** Runs `work` in one transaction: many writes, one commit (one fsync: synchronous = FULL). */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * `work` in one transaction committed without waiting for the disk (synchronous = NORMAL for
   * it: in WAL mode a crash of the process loses nothing, a power cut may lose it, and the next
   * ordinary commit makes it durable). Only for writes whose loss costs space, never data: a
   * cancel received as host (lost, the shard is kept until the contract ends). An owner's prune
   * sends one per contract, and an fsync each was most of its time on a busy disk.
   */
  transactionWithoutSync<T>(work: () => T): T {
    const before = this.db.pragma('synchronous', { simple: true }) as number;
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.db.transaction(work)();
    } finally {
      this.db.pragma(`synchronous = ${before}`);
    }
  }

  /** Moves a contract to `state` if it is currently one of `from`. Returns whether it moved. */
  transition(id: Uint8Array, from: ContractState[], state: ContractState, now: number): boolean {
    const placeholders = from.map(() => '?').join(', ');
    const res = this.db.prepare(`UPDATE contracts SET state = ?, updated_at = ? WHERE id = ? AND state IN (${placeholders})`).run(state, now, id, ...from);
    return res.changes > 0;
  }

  list(filter: { role?: ContractRole; counterpart?: Uint8Array; live?: boolean } = {}): StoredContract[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.role) {
      where.push('role = ?');
      args.push(filter.role);
    }
    if (filter.counterpart) {
      where.push('counterpart = ?');
      args.push(filter.counterpart);
    }
    if (filter.live) where.push(LIVE);
    const sql = `SELECT * FROM contracts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, id`;
    return (this.db.prepare(sql).all(...args) as ContractRowRaw[]).map(toStored);
  }

  /**
   * Every contract as `dbs contracts` and the web page show it: the columns only, newest change
   * first, as list() orders them. No terms decoded (list() checks each row's canonical encoding,
   * about 0.1 ms a row: 10,000 contracts took over a second for a listing).
   */
  listPlain(): PlainContractRow[] {
    const rows = this.db.prepare('SELECT id, role, counterpart, counterpart_address, shard_hash, size, state, created_at, expires_at FROM contracts ORDER BY updated_at DESC, id').all() as Array<{
      id: Buffer; role: ContractRole; counterpart: Buffer; counterpart_address: string | null; shard_hash: Buffer; size: number; state: ContractState; created_at: number; expires_at: number;
    }>;
    return rows.map((r) => ({ id: r.id, role: r.role, counterpart: r.counterpart, counterpartAddress: r.counterpart_address, shardHash: r.shard_hash, size: r.size, state: r.state, createdAt: r.created_at, expiresAt: r.expires_at }));
  }

  /** Live host contracts for the shard with this hash (a shard file may serve several). */
  liveHostContractsFor(shardHash: Uint8Array): StoredContract[] {
    return (this.db.prepare(`SELECT * FROM contracts WHERE role = 'host' AND shard_hash = ? AND ${LIVE}`).all(shardHash) as ContractRowRaw[]).map(toStored);
  }

  /** Bytes we have promised to keep for others (live host contracts). */
  hostedBytes(): number {
    const row = this.db.prepare(`SELECT COALESCE(SUM(size), 0) AS n FROM contracts WHERE role = 'host' AND ${LIVE}`).get() as { n: number };
    return row.n;
  }

  /**
   * Live contracts counted in SQL: ours (owner) and others' (host), and the bytes of the host
   * contracts whose shard arrived (active). What `status` reports every 2 s to an open web page:
   * without decoding 10,000 rows for three numbers.
   */
  liveTotals(): { owner: number; host: number; hostActiveBytes: number } {
    const row = this.db
      .prepare(`SELECT COALESCE(SUM(role = 'owner'), 0) AS owner, COALESCE(SUM(role = 'host'), 0) AS host, COALESCE(SUM(CASE WHEN role = 'host' AND state = 'active' THEN size ELSE 0 END), 0) AS bytes FROM contracts WHERE ${LIVE}`)
      .get() as { owner: number; host: number; bytes: number };
    return { owner: row.owner, host: row.host, hostActiveBytes: row.bytes };
  }

  /** Bytes promised to others whose shards have not arrived yet (pending host contracts). */
  pendingHostBytes(): number {
    const row = this.db.prepare(`SELECT COALESCE(SUM(size), 0) AS n FROM contracts WHERE role = 'host' AND state = 'pending'`).get() as { n: number };
    return row.n;
  }

  balance(counterpart: Uint8Array): Balance {
    const row = this.db.prepare('SELECT kept_for_them, kept_by_them FROM ledger WHERE counterpart = ?').get(counterpart) as
      | { kept_for_them: number; kept_by_them: number }
      | undefined;
    return { keptForThem: row?.kept_for_them ?? 0, keptByThem: row?.kept_by_them ?? 0 };
  }

  ledger(): LedgerRow[] {
    const rows = this.db.prepare('SELECT counterpart, kept_for_them, kept_by_them FROM ledger ORDER BY counterpart').all() as {
      counterpart: Buffer;
      kept_for_them: number;
      kept_by_them: number;
    }[];
    return rows.map((r) => ({ counterpart: new Uint8Array(r.counterpart), keptForThem: r.kept_for_them, keptByThem: r.kept_by_them }));
  }

  /**
   * Unreciprocated bytes we keep for keys other than `except` that proposed from the same
   * network prefix as `host`: the share of the prefix's allowance already used. A key counts
   * against every prefix it has live contracts from (the address each proposal was accepted
   * from), so moving a key elsewhere later frees nothing.
   */
  prefixDebt(host: string, except: Uint8Array): number {
    const prefix = networkPrefix(host);
    const rows = this.db
      .prepare(
        `SELECT DISTINCT c.counterpart, c.counterpart_address, l.kept_for_them, l.kept_by_them
         FROM contracts c JOIN ledger l ON l.counterpart = c.counterpart
         WHERE c.role = 'host' AND c.state IN ('pending', 'active') AND l.kept_for_them > l.kept_by_them AND c.counterpart != ?`,
      )
      .all(except) as { counterpart: Buffer; counterpart_address: string | null; kept_for_them: number; kept_by_them: number }[];
    const counted = new Set<string>();
    let total = 0;
    for (const r of rows) {
      const h = r.counterpart_address ? hostOf(r.counterpart_address) : null;
      const key = r.counterpart.toString('hex');
      if (h === null || networkPrefix(h) !== prefix || counted.has(key)) continue;
      counted.add(key);
      total += debt({ keptForThem: r.kept_for_them, keptByThem: r.kept_by_them });
    }
    return total;
  }

  counterpart(key: Uint8Array): CounterpartRow {
    const row = this.db.prepare('SELECT * FROM counterparts WHERE key = ?').get(key) as CounterpartRaw | undefined;
    return row ? toCounterpart(row) : { key, lastAddress: null, offered: null, ...GOOD_STANDING };
  }

  /** Counterparts last seen at `address` (host:port). */
  counterpartsAt(address: string): CounterpartRow[] {
    return (this.db.prepare('SELECT * FROM counterparts WHERE last_address = ?').all(address) as CounterpartRaw[]).map(toCounterpart);
  }

  counterparts(): CounterpartRow[] {
    return (this.db.prepare('SELECT * FROM counterparts ORDER BY key').all() as CounterpartRaw[]).map(toCounterpart);
  }

  /** Records where a counterpart was last seen and what it offered. */
  sawCounterpart(key: Uint8Array, address: string, offered: number | null, now: number): void {
    this.db
      .prepare(
        `INSERT INTO counterparts (key, last_address, offered, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET last_address = excluded.last_address,
           offered = COALESCE(excluded.offered, counterparts.offered), updated_at = excluded.updated_at`,
      )
      .run(key, address, offered, now);
  }

  saveStanding(key: Uint8Array, s: Standing, now: number): void {
    this.db
      .prepare(
        `INSERT INTO counterparts (key, strikes, strike_since, defaulter_since, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET strikes = excluded.strikes, strike_since = excluded.strike_since,
           defaulter_since = excluded.defaulter_since, updated_at = excluded.updated_at`,
      )
      .run(key, s.strikes, s.strikeSince, s.defaulterSince, now);
  }

  /** Pending contracts whose reservation lapsed at `now` (ms). */
  lapsedReservations(now: number): StoredContract[] {
    return (this.db.prepare(`SELECT * FROM contracts WHERE state = 'pending' AND reserved_until IS NOT NULL AND reserved_until <= ?`).all(now) as ContractRowRaw[]).map(toStored);
  }

  /**
   * Deletes contracts that ended (cancelled, expired, released) before `before` (ms), with
   * their audit records; returns how many. Their proposals are long past the replay window,
   * so a replay is refused as expired without the row.
   */
  purgeEnded(before: number): number {
    return this.db.transaction(() => {
      const ended = `SELECT id FROM contracts WHERE state IN ('cancelled', 'expired', 'released') AND updated_at < ?`;
      this.db.prepare(`DELETE FROM host_health WHERE contract IN (${ended})`).run(before);
      return this.db.prepare(`DELETE FROM contracts WHERE id IN (${ended})`).run(before).changes;
    })();
  }

  /** Live contracts whose term ended at `nowSeconds`. */
  endedContracts(nowSeconds: number): StoredContract[] {
    return (this.db.prepare(`SELECT * FROM contracts WHERE ${LIVE} AND expires_at <= ?`).all(nowSeconds) as ContractRowRaw[]).map(toStored);
  }
}

function toCounterpart(row: CounterpartRaw): CounterpartRow {
  return {
    key: new Uint8Array(row.key),
    lastAddress: row.last_address,
    offered: row.offered,
    strikes: row.strikes,
    strikeSince: row.strike_since,
    defaulterSince: row.defaulter_since,
  };
}

function toStored(row: ContractRowRaw): StoredContract {
  return {
    contract: {
      terms: decodeTerms(row.terms),
      id: new Uint8Array(row.id),
      ownerSignature: new Uint8Array(row.owner_signature),
      hostSignature: new Uint8Array(row.host_signature),
    },
    role: row.role,
    counterpart: new Uint8Array(row.counterpart),
    counterpartAddress: row.counterpart_address,
    state: row.state,
    reservedUntil: row.reserved_until,
    updatedAt: row.updated_at,
  };
}

function hostOf(address: string): string | null {
  try {
    return parseAddress(address).host;
  } catch {
    return null;
  }
}
