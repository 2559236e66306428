/**
 * Server-Sent Events to the open pages: `status` every few seconds (only while a page is open),
 * `event` for each peer event, `job` for each change of a job. A comment line keeps idle
 * streams open. Bounded: at most `maxStreams` at once.
 */
import type { ServerResponse } from 'node:http';
import { type Clock, every } from '../util/clock.js';
import { UiError } from './errors.js';

export interface StreamOptions {
  clock: Clock;
  maxStreams: number;
  statusIntervalMs: number;
  heartbeatMs: number;
  /** What the `status` message carries. */
  status: () => Promise<unknown>;
}

export class EventStreams {
  private readonly streams = new Set<ServerResponse>();
  private stopTimers: Array<() => void> = [];

  constructor(private readonly options: StreamOptions) {}

  get open(): number {
    return this.streams.size;
  }

  /** Takes over `res` as a stream (headers were checked by the caller). */
  attach(res: ServerResponse, headers: Record<string, string>): void {
    if (this.streams.size >= this.options.maxStreams) throw new UiError('TOO_MANY_STREAMS', `${this.options.maxStreams} live streams are open already`);
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    res.write(': open\n\n');
    this.streams.add(res);
    res.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stopTicking();
    });
    if (this.stopTimers.length === 0) this.startTicking();
    void this.pushStatus();
  }

  send(event: string, data: unknown): void {
    if (this.streams.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.streams) if (!res.writableEnded) res.write(frame);
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    this.stopTicking();
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  private async pushStatus(): Promise<void> {
    try {
      this.send('status', await this.options.status());
    } catch {
      // The peer is stopping: the next tick (or none) says more; a page keeps its last figures.
    }
  }

  private startTicking(): void {
    const { clock, statusIntervalMs, heartbeatMs } = this.options;
    this.stopTimers = [
      every(clock, statusIntervalMs, () => void this.pushStatus()),
      every(clock, heartbeatMs, () => {
        for (const res of this.streams) res.write(': keep-alive\n\n');
      }),
    ];
  }

  private stopTicking(): void {
    for (const stop of this.stopTimers) stop();
    this.stopTimers = [];
  }
}
