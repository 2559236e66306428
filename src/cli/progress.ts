/**
 * Progress of a backup or restore: a bar with bytes, rate and ETA on a terminal, a plain line
 * every few seconds otherwise (logs and CI stay readable). Output goes to stderr so `--json`
 * output on stdout stays clean.
 */
import cliProgress from 'cli-progress';
import { CLI_DEFAULTS } from './defaults.js';
import { formatBytes, formatDuration, formatRate } from './units.js';

export interface ProgressView {
  /** `done` of `total` bytes (total 0 = unknown); `note` is e.g. the phase or a file count. */
  update(done: number, total: number, note: string): void;
  stop(): void;
}

export function progressView(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressView {
  const started = Date.now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} {bar} {percentage}% | {doneText} of {totalText} | {rateText} | ETA {etaText} | {note}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let begun = false;
    return {
      update(done, total, note) {
        const elapsed = Date.now() - started;
        const eta = total > 0 && done > 0 ? ((total - done) * elapsed) / done : NaN;
        const payload = { doneText: formatBytes(done), totalText: total > 0 ? formatBytes(total) : '?', rateText: formatRate(done, elapsed), etaText: Number.isFinite(eta) ? formatDuration(eta) : '-', note };
        const max = Math.max(total, done, 1);
        if (!begun) {
          bar.start(max, done, payload);
          begun = true;
        } else {
          bar.setTotal(max);
          bar.update(done, payload);
        }
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  let lastLine = 0;
  let last: [number, number, string] | null = null;
  const print = (done: number, total: number, note: string) => {
    const elapsed = Date.now() - started;
    const pct = total > 0 ? ` (${Math.min(100, Math.floor((done / total) * 100))}%)` : '';
    stream.write(`${label}: ${formatBytes(done)}${total > 0 ? ` of ${formatBytes(total)}` : ''}${pct}, ${formatRate(done, elapsed)}, ${note}\n`);
  };
  return {
    update(done, total, note) {
      last = [done, total, note];
      if (Date.now() - lastLine >= CLI_DEFAULTS.plainProgressIntervalMs) {
        lastLine = Date.now();
        last = null;
        print(done, total, note);
      }
    },
    stop() {
      if (last) print(...last);
    },
  };
}
