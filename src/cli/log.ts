/**
 * What a running peer writes down: structured JSON lines (pino) in `dbs.log` in the data
 * directory for later digging, and one short human line per event on the terminal.
 */
import path from 'node:path';
import { pino, type Logger } from 'pino';

export interface PeerLog {
  /** Records an event: `fields` go to the log file, `line` (if any) to the terminal too. */
  info(event: string, fields: Record<string, unknown>, line?: string): void;
  warn(event: string, fields: Record<string, unknown>, line?: string): void;
  close(): void;
}

export const LOG_FILE = 'dbs.log';

export function openPeerLog(dataDir: string, terminal: (line: string) => void): PeerLog {
  // Synchronous writes: a few lines a minute, and the last lines before a crash are the ones
  // that matter.
  const destination = pino.destination({ dest: path.join(dataDir, LOG_FILE), sync: true, mkdir: true });
  const logger: Logger = pino({ base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const stamp = () => new Date().toTimeString().slice(0, 8);
  // The log file is on the data directory's disk: when that disk is full or turned read-only
  // (the very events worth a warning), writing it fails. The event still reaches the terminal,
  // with one note per failure streak that the file is missing lines; nothing is thrown.
  let fileFailing = false;
  let failure: unknown = null;
  // Synchronous destination: a failed write is emitted here during the logger call below.
  destination.on('error', (err) => (failure = err));
  const write = (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => {
    failure = null;
    try {
      logger[level]({ event, ...fields });
    } catch (err) {
      failure = err;
    }
    if (failure && !fileFailing) terminal(`${stamp()} could not write ${LOG_FILE} (${(failure as NodeJS.ErrnoException).code ?? String(failure)}): events are shown here only until it can be written again`);
    fileFailing = failure !== null;
  };
  return {
    info(event, fields, line) {
      write('info', event, fields);
      if (line) terminal(`${stamp()} ${line}`);
    },
    warn(event, fields, line) {
      write('warn', event, fields);
      if (line) terminal(`${stamp()} ${line}`);
    },
    close() {
      try {
        destination.flushSync();
      } catch {
        // Nothing more can be written to a full or read-only disk.
      }
      destination.end();
    },
  };
}

/** `log`, with every event also pushed to `feed` (the web page's recent events). */
export function teeLog(log: PeerLog, feed: { push(level: 'info' | 'warn', event: string, text?: string): void }): PeerLog {
  return {
    info(event, fields, line) {
      log.info(event, fields, line);
      feed.push('info', event, line);
    },
    warn(event, fields, line) {
      log.warn(event, fields, line);
      feed.push('warn', event, line);
    },
    close: () => log.close(),
  };
}
