/**
 * The part of bittorrent-dht v11 (which ships no types) that bench/dht-udp.ts uses,
 * including the internals it reads to count queries and collect lookup results:
 * `_rpc.socket` is the k-rpc-socket every query goes through, and `_tables` holds, per
 * lookup target, a k-bucket of the nodes that answered that lookup.
 */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  interface KnownNode {
    id: Uint8Array;
    host: string;
    port: number;
  }

  interface KBucketLike {
    toArray(): KnownNode[];
  }

  interface KrpcQuery {
    q: string;
    a?: Record<string, unknown>;
  }

  type QueryCallback = (err: Error | null, reply: unknown, peer: unknown) => void;

  interface KrpcSocket {
    query(peer: { host: string; port: number }, query: KrpcQuery, cb?: QueryCallback): number;
  }

  interface DhtOptions {
    /** Bootstrap nodes as `host:port`, or false for none. */
    bootstrap?: false | string[];
    k?: number;
    /** Queries in flight at most (default 16). */
    concurrency?: number;
    /** Query timeout in ms (default 2000). */
    timeout?: number;
  }

  export default class DHT extends EventEmitter {
    constructor(options?: DhtOptions);
    readonly nodeId: Uint8Array;
    listen(port: number, address: string, onListening?: () => void): void;
    address(): { address: string; family: string; port: number };
    /** A get_peers lookup of `infoHash`; calls back with the number of nodes that answered. */
    lookup(infoHash: Uint8Array | string, cb?: (err: Error | null, answered?: number) => void): () => void;
    destroy(cb?: () => void): void;
    readonly _rpc: { socket: KrpcSocket; nodes: KBucketLike };
    readonly _tables: { get(hexTarget: string): KBucketLike | undefined };
  }
}
