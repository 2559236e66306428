/**
 * The web page's defaults, in one place, with their units and reasons.
 */
export const UI_DEFAULTS = {
  /** Address served: loopback only. Anything else needs `allowRemote` (see docs/ui.md for the risks). */
  host: '127.0.0.1',
  /**
   * TCP port: 7780, near the peer's 7001 and tracker's 7000 and unassigned by IANA (Syncthing's
   * 8384 is taken by habit on many machines). 0 lets the system choose.
   */
  port: 7780,
  /** The access token's file in the data directory (0600, made once, kept across restarts). */
  tokenFile: 'ui-token',
  /** Bytes of randomness in the access token and the per-process CSRF token. */
  tokenBytes: 32,
  /** ms between status pushes on the live stream while a page is open (the rate chart's resolution). */
  statusIntervalMs: 2000,
  /** ms between keep-alive comments on an idle stream, so proxies and browsers keep it open. */
  heartbeatMs: 15_000,
  /** Live streams open at once: a few tabs; more is a runaway script, refused with 503. */
  maxStreams: 8,
  /** Rows a list answers when the request names no limit. */
  pageSize: 50,
  /** Most rows a list answers at once (10,000 contracts are paged, not sent whole). */
  maxPageSize: 500,
  /** Bytes of a request body: a path and a few options. */
  maxBodyBytes: 16 * 1024,
  /** Recent events in the overview answer: what the page shows, kept live from then on. */
  overviewEvents: 50,
  /** Finished jobs (backups, restores, checks started from the page) kept for the page to show. */
  jobsKept: 20,
  /** ms a client may take to send its headers. */
  headersTimeoutMs: 10_000,
} as const;

/** The cookie that carries the access token after the first visit (the port keeps peers on one machine apart). */
export const cookieName = (port: number) => `dbs_ui_${port}`;
