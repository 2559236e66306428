/**
 * Friends: peers the user named by public key to keep their shards first. They are found by their
 * signed peer records wherever they are now (public, mapped, or client-only behind a NAT, punched
 * to through their rendezvous: src/nat/punch-routes.ts), and only those that answer HELLO with
 * their key are offered to placement (contracts/candidates.ts asks them before the DHT's hosts).
 * This is how a host behind a NAT gets shards at all: it is in nobody's routing table.
 */
import type { Address } from '../net/address.js';
import type { Clock } from '../util/clock.js';
import type { PeerRecord } from './peer-record.js';

/** Hex public keys (64 digits) to keys; throws on anything else, naming the bad entry. */
export function parseFriends(list: readonly string[]): Uint8Array[] {
  return list.map((text) => {
    if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`friend "${text}" is not a public key (64 hex digits, as \`dbs status\` shows it)`);
    return new Uint8Array(Buffer.from(text, 'hex'));
  });
}

/**
 * ms a lookup of the friends' addresses is reused: placement asks once per shard, and a backup
 * places hundreds; a minute is short against how often a home's address changes.
 */
export const FRIENDS_CACHE_MS = 60_000;

/**
 * Where each friend answers now (verified by HELLO), in the order named; absent ones are left
 * out. Looked up again once the last answer is `FRIENDS_CACHE_MS` old, or was empty.
 */
export function friendAddresses(
  friends: readonly Uint8Array[],
  findPeer: (publicKey: Uint8Array) => Promise<(PeerRecord & { verified: boolean }) | null>,
  clock: Pick<Clock, 'now'>,
): () => Promise<Address[]> {
  let cached: { at: number; addresses: Promise<Address[]> } | null = null;
  const lookUp = async () => {
    const found = await Promise.all(friends.map((key) => findPeer(key).catch(() => null)));
    return found.filter((r): r is PeerRecord & { verified: boolean } => r !== null && r.verified).map((r) => ({ host: r.host, port: r.port }));
  };
  return async () => {
    if (friends.length === 0) return [];
    const now = clock.now();
    if (!cached || now - cached.at >= FRIENDS_CACHE_MS) cached = { at: now, addresses: lookUp() };
    const addresses = await cached.addresses;
    // Nobody found: ask again next time rather than wait out the minute.
    if (addresses.length === 0) cached = null;
    return addresses;
  };
}
