/**
 * The peer record: a signed, mutable DHT record under the peer's public key that says where
 * the peer is now and what it offers. Contract partners look it up to find a peer again
 * after its address (and so its node ID) changed. Its sequence number is the publication
 * time in ms, so a restarted peer always publishes a newer record without keeping state.
 */
import { Packr, Unpackr } from 'msgpackr';
import { isIP } from 'node:net';
import type { DhtNode } from '../dht/node.js';
import type { Address } from '../net/address.js';
import { mutableKey } from '../dht/records.js';
import type { SigningKeyPair } from '../crypto/ed25519.js';

export const PEER_RECORD_SALT = new TextEncoder().encode('dbs-peer-v1');

export interface PeerRecord extends Address {
  /** Bytes offered to others. */
  offered: number;
  /** Of those, not yet promised. */
  free: number;
  /** Publication time, ms since the epoch (also the record's sequence number). */
  publishedAt: number;
  /**
   * Rendezvous of a client-only peer behind a NAT (src/nat/registrar.ts): peers that pass punch
   * requests on to it. Absent for a reachable peer. At most MAX_RECORD_RENDEZVOUS.
   */
  rendezvous?: Address[];
}

/** Rendezvous a peer record may name (`r`): 3, as a client-only peer keeps (nat/constants.ts). */
export const MAX_RECORD_RENDEZVOUS = 3;

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function encodePeerRecord(r: PeerRecord): Uint8Array {
  const rendezvous = (r.rendezvous ?? []).slice(0, MAX_RECORD_RENDEZVOUS).map((a) => `${a.host}|${a.port}`);
  return packr.pack({ h: r.host, p: r.port, o: r.offered, f: r.free, t: r.publishedAt, ...(rendezvous.length ? { r: rendezvous } : {}) });
}

/** Decodes a peer record; null if it is not one. */
export function decodePeerRecord(bytes: Uint8Array): PeerRecord | null {
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object') return null;
  const { h, p, o, f, t, r } = raw as Record<string, unknown>;
  const uint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (typeof h !== 'string' || !isIP(h) || !uint(p) || (p as number) < 1 || (p as number) > 65535 || !uint(o) || !uint(f) || !uint(t)) return null;
  const rendezvous = r === undefined ? [] : decodeRendezvous(r);
  if (!rendezvous) return null;
  return { host: h, port: p as number, offered: o as number, free: f as number, publishedAt: t as number, ...(rendezvous.length ? { rendezvous } : {}) };
}

/** `r`: a list of "host|port" strings (IP literal, port 1-65535), at most MAX_RECORD_RENDEZVOUS; null if not. */
function decodeRendezvous(r: unknown): Address[] | null {
  if (!Array.isArray(r) || r.length > MAX_RECORD_RENDEZVOUS) return null;
  const out: Address[] = [];
  for (const item of r) {
    if (typeof item !== 'string' || item.length > 60) return null;
    const [host, port, ...rest] = item.split('|');
    const n = Number(port);
    if (rest.length || !host || !isIP(host) || !Number.isInteger(n) || n < 1 || n > 65535) return null;
    out.push({ host, port: n });
  }
  return out;
}

export function peerRecordKey(publicKey: Uint8Array): Uint8Array {
  return mutableKey(publicKey, PEER_RECORD_SALT);
}

/**
 * Publishes `record`. Its sequence number is the publication time, or one more than the
 * record already in the DHT if that is newer (a clock that stepped back, a quick restart).
 */
export async function publishPeerRecord(dht: Pick<DhtNode, 'get' | 'putSigned'>, keys: SigningKeyPair, record: PeerRecord): Promise<number> {
  const current = await dht.get(peerRecordKey(keys.publicKey));
  const seq = Math.max(record.publishedAt, (current?.seq ?? -1) + 1);
  const res = await dht.putSigned(keys, encodePeerRecord(record), { salt: PEER_RECORD_SALT, seq });
  return res.stored;
}

/** The newest valid peer record of `publicKey` in the DHT, or null. */
export async function findPeerRecord(dht: Pick<DhtNode, 'get'>, publicKey: Uint8Array): Promise<PeerRecord | null> {
  const record = await dht.get(peerRecordKey(publicKey));
  return record ? decodePeerRecord(record.value) : null;
}
