/**
 * How often hole punching works through the NAT lab's kernel NATs, per NAT pair and path:
 * UDP (both sides send to each other's external address at once) and TCP simultaneous open
 * (both connect to each other's external address from a fixed local port at once). The external
 * ports are predicted as the local ones, which is what a port-preserving (cone) NAT gives and what
 * address observation (src/nat/address-sampler.ts) reports as `consistent`; a symmetric NAT picks
 * a random port, so no plain prediction can work there (hyperdht would probe ports; not done).
 *
 *   sudo node dist/bench/nat-punch.js [--tries 20]      (needs root, ip, nft)
 *
 * Results go to docs/benchmarks.md by hand, with the machine and date.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNatLab, type Home, natLabUnavailable, type RouterKind } from '../test/helpers/nat-lab.js';

const execFileAsync = promisify(execFile);
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'punch-child.js');
const tries = Number(process.argv[process.argv.indexOf('--tries') + 1] ?? 20) || 20;
const WINDOW_MS = 3000;

const reason = natLabUnavailable();
if (reason) {
  console.error(`skipped: ${reason}`);
  process.exit(0);
}

async function side(home: Home, mode: 'udp' | 'tcp', localPort: number, remote: Home, startAt: number): Promise<{ ok: boolean; ms: number }> {
  const args = ['netns', 'exec', home.host.ns, process.execPath, CHILD, mode, String(localPort), remote.router.wan, String(localPort), String(startAt), String(WINDOW_MS)];
  const { stdout } = await execFileAsync('ip', args, { timeout: WINDOW_MS + 10_000 });
  return JSON.parse(stdout.trim()) as { ok: boolean; ms: number };
}

const lab = createNatLab();
try {
  const pairs: Array<[RouterKind, RouterKind]> = [
    ['cone', 'cone'],
    ['cone', 'symmetric'],
    ['symmetric', 'symmetric'],
  ];
  console.log(`| NAT pair | path | success | median time to success (ms) |`);
  console.log(`| --- | --- | --- | --- |`);
  let port = 20_000;
  for (const [ka, kb] of pairs) {
    // Router UDP timeout as in many home routers: 30 s unreplied.
    const a = lab.addHome(ka, { udpTimeoutSeconds: 30 });
    const b = lab.addHome(kb, { udpTimeoutSeconds: 30 });

    for (const mode of ['udp', 'tcp'] as const) {
      let ok = 0;
      const times: number[] = [];
      for (let i = 0; i < tries; i++) {
        // A fresh port pair each try, so no mapping is left from the try before.
        port += 1;
        const startAt = Date.now() + 400;
        const [ra, rb] = await Promise.all([side(a, mode, port, b, startAt), side(b, mode, port, a, startAt)]);
        if (ra.ok && rb.ok) {
          ok++;
          times.push(Math.max(ra.ms, rb.ms));
        }
      }
      times.sort((x, y) => x - y);
      const median = times.length ? String(times[Math.floor(times.length / 2)]) : '-';
      console.log(`| ${ka} - ${kb} | ${mode === 'udp' ? 'UDP' : 'TCP simultaneous open'} | ${ok}/${tries} | ${median} |`);
    }
  }
} finally {
  lab.close();
}
