/**
 * The control channel between `dbs` commands and the running peer: HTTP on a Unix socket in
 * the data directory. Every answer is newline-delimited JSON: zero or more `progress` lines,
 * then exactly one `result` or `error` line, so long jobs (backup, restore) can report as
 * they go over one plain request.
 */

/** The socket's file name inside the data directory. */
export const CONTROL_SOCKET = 'control.sock';

/** Requests larger than this are refused, bytes (they are a few paths and options). */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** ms a client may take to send its request headers: a local command sends them at once; this only frees a stuck connection. */
export const HEADERS_TIMEOUT_MS = 10_000;

export type ControlLine =
  | { progress: unknown }
  | { result: unknown }
  | { error: { message: string; exitCode: number } };

/** A route's handler: `report` sends a progress line; the returned value is the result. */
export type ControlHandler = (body: Record<string, unknown>, report: (progress: unknown) => void) => Promise<unknown>;
