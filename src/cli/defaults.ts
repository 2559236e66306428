/**
 * The command line's defaults, in one place: what `dbs` does when an option is not given, and
 * the timings of its own machinery. A leaf module (no imports), so that every command may read
 * it without loading anything else.
 */
export const CLI_DEFAULTS = {
  /**
   * `dbs start --host`: every interface. Behind a home router a peer cannot know the address
   * others reach it at; it runs as a client until peers agree on it (src/dht/self-address.ts) or
   * the router maps the port (src/nat/port-mapping.ts). Give --host for a known public address.
   */
  host: '0.0.0.0',
  /** `dbs start --port`: UDP and TCP port. A fixed one, so that others can be told where to bootstrap; 7001 is unassigned by IANA. */
  port: 7001,
  /** `dbs tracker --port`: TCP port, the one below the peers' default. */
  trackerPort: 7000,
  /** `dbs start --storage`, bytes: 1 GiB offered to others, small enough for any disk, large enough to back up a folder of documents. */
  storageBytes: 2 ** 30,
  /** `--quiet`, ms: a watched folder is backed up 10 s after its last change (an editor's save, a copy, settle well within it). */
  quietMs: 10_000,
  /** `--replicas`: hosts that keep each shard; 3 survives two hosts gone at once (the library's default too). */
  replicas: 3,
  /** ms between a running peer's pings to its tracker: the tracker forgets a peer 10 min after its last one (tracker/registry.ts), so a few may be lost. */
  trackerPingMs: 60_000,
  /** ms between checks that the data directory is still there and writable: a lost disk is noticed within seconds, at the cost of two system calls. */
  dataDirCheckMs: 5_000,
  /** ms between progress lines the peer streams to a waiting command: a few a second is smooth and costs nothing. */
  progressIntervalMs: 200,
  /** ms between plain progress lines when stderr is not a terminal: logs and CI stay readable. */
  plainProgressIntervalMs: 2000,
  /** `dbs demo --peers`: 8 peers, enough for replicas 3 after two hosts are killed, with spares. */
  demoPeers: 8,
  /** ms a demo peer may take to answer on its control socket after spawning (a loaded CI machine takes a few s). */
  peerStartTimeoutMs: 30_000,
  /** ms a demo peer gets to stop after SIGTERM before SIGKILL (it closes sockets and the database in well under 1 s). */
  peerStopTimeoutMs: 10_000,
} as const;
