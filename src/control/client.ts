/**
 * The command's side of the control channel: one HTTP request over the data directory's Unix
 * socket, progress lines passed to a callback as they arrive, the result returned.
 */
import http from 'node:http';
import type { ControlLine } from './protocol.js';

/** The peer answered with an error; `exitCode` is what the command should exit with. */
export class ControlError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'ControlError';
  }
}

/** Nothing is listening on the socket: no peer runs for this data directory. */
export class NoPeerError extends Error {
  constructor(readonly socketPath: string) {
    super(`no peer is running for this data directory (nothing answers on ${socketPath})`);
    this.name = 'NoPeerError';
  }
}

export function controlRequest<T>(socketPath: string, method: 'GET' | 'POST', route: string, body?: unknown, onProgress?: (progress: unknown) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const req = http.request({ socketPath, method, path: route, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let buffered = '';
      let settled = false;
      const line = (text: string) => {
        if (!text.trim() || settled) return;
        let parsed: ControlLine;
        try {
          parsed = JSON.parse(text) as ControlLine;
        } catch {
          settled = true;
          reject(new Error('the peer sent an unreadable answer'));
          return;
        }
        if ('progress' in parsed) onProgress?.(parsed.progress);
        else if ('result' in parsed) {
          settled = true;
          resolve(parsed.result as T);
        } else if ('error' in parsed) {
          settled = true;
          reject(new ControlError(parsed.error.message, parsed.error.exitCode));
        }
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          line(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      });
      res.on('end', () => {
        line(buffered);
        if (!settled) reject(new Error('the peer closed the control connection before answering (did it stop?)'));
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new NoPeerError(socketPath));
      else reject(err);
    });
    req.end(payload);
  });
}
