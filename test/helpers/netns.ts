/**
 * A small LAN of Linux network namespaces for tests that need peers on distinct IP addresses:
 * one namespace per address, each joined by a veth pair to a bridge in a hub namespace, all
 * in 10.0.0.0/8 (one flat segment, no routing). The machine's own network is not touched.
 * Needs root and `ip` (iproute2); `nft` (nftables) for `dropUdp`. Start peers inside with
 * `PeerProcess.start(name, config, { netns: lan.namespaceOf(ip) })`.
 *
 *   const reason = netnsUnavailable();          // null, or why these tests must skip
 *   const lan = createLan(['10.1.1.1', '10.1.2.1']);
 *   lan.dropUdp(10);                            // 10% of UDP datagrams leaving each namespace
 *   lan.close();                                // deletes every namespace it made
 */
import { execFileSync } from 'node:child_process';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function nft(ns: string, script: string): void {
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** Null when namespaces can be made here; otherwise the reason, for the skip message. */
export function netnsUnavailable(needNft = false): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the tests as root to include them)';
  const probe = `dbs-probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
  } catch (err) {
    return `cannot create a network namespace (${(err as Error).message.split('\n')[0]})`;
  }
  try {
    if (needNft) nft(probe, 'table inet dbs_probe {}\n');
  } catch {
    return 'nft (nftables) is missing or does not work: apt-get install nftables';
  } finally {
    ip('netns', 'del', probe);
  }
  return null;
}

export interface Lan {
  /** The namespace whose interface has `address`. */
  namespaceOf(address: string): string;
  /** Drops `percent`% of the UDP datagrams every namespace sends (nftables, `numgen random`). */
  dropUdp(percent: number): void;
  /** UDP datagrams the loss rules have dropped so far, over all namespaces. */
  droppedUdp(): number;
  /** Removes the loss rules. */
  clearRules(): void;
  /** Deletes every namespace (and so every interface) of the LAN. */
  close(): void;
}

let lans = 0;

export function createLan(addresses: string[]): Lan {
  const tag = `dbs${process.pid % 100_000}n${lans++}`;
  const hub = `${tag}-hub`;
  const namespaces = new Map<string, string>();
  const made: string[] = [];
  const close = () => {
    for (const ns of made.splice(0).reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
  };
  try {
    ip('netns', 'add', hub);
    made.push(hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    [...new Set(addresses)].forEach((address, i) => {
      const ns = `${tag}-${i}`;
      ip('netns', 'add', ns);
      made.push(ns);
      // Interface names are per namespace; the hub's side needs one unique to the hub.
      ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', hub);
      ip('-n', ns, 'addr', 'add', `${address}/8`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', hub, 'link', 'set', `p${i}`, 'master', 'br0');
      ip('-n', hub, 'link', 'set', `p${i}`, 'up');
      namespaces.set(address, ns);
    });
  } catch (err) {
    close();
    throw err;
  }
  return {
    namespaceOf(address) {
      const ns = namespaces.get(address);
      if (!ns) throw new Error(`no namespace has ${address}`);
      return ns;
    },
    dropUdp(percent) {
      for (const ns of namespaces.values()) {
        nft(ns, `table inet dbs_loss {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    meta l4proto udp numgen random mod 100 < ${percent} counter drop\n  }\n}\n`);
      }
    },
    droppedUdp() {
      let total = 0;
      for (const ns of namespaces.values()) {
        const out = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'dbs_loss'], { encoding: 'utf8' });
        total += Number(/counter packets (\d+)/.exec(out)?.[1] ?? 0);
      }
      return total;
    },
    clearRules() {
      for (const ns of namespaces.values()) nft(ns, 'table inet dbs_loss {}\ndelete table inet dbs_loss\n');
    },
    close,
  };
}
