/**
 * What bench:dht-udp compares: a swarm of one implementation's nodes on loopback, behind the
 * same small interface, and what is measured of it.
 */

export const K = 20;
export const HOST = '127.0.0.1';

/** What one implementation has to offer the benchmark. */
export interface Swarm {
  name: string;
  ids: Uint8Array[];
  joinMs: number;
  /** Runs one lookup from node `from`; returns the queries that node sent and the closest nodes found. */
  lookup(from: number, target: Uint8Array): Promise<{ queries: number; failures: number; closest: Uint8Array[] }>;
  close(): Promise<void>;
}

export interface Measured {
  latencyMs: number[];
  queries: number[];
  datagrams: number[];
  bytes: number[];
  recalls: number[];
  failures: number;
}
