/**
 * A NAT lab in Linux network namespaces, with real kernel NAT: an "internet" (one bridge in a hub
 * namespace) with public hosts on a documentation range, and homes behind router namespaces of
 * the kinds people really have. Every address lives inside namespaces this module made; nothing
 * reaches the machine's own network. Needs root, `ip`, `nft`; the `upnp` kind needs `miniupnpd`
 * (Debian's miniupnpd-nftables; its nft_init.sh is broken, so the chains are made here).
 *
 *   const reason = natLabUnavailable(['upnp']);      // null, or why the test must skip
 *   const lab = createNatLab();
 *   const boot = lab.addPublicHost();                // { ns, address: '198.51.100.1' }
 *   const home = lab.addHome('cone', { udpTimeoutSeconds: 5 });
 *   // home.host.ns runs a peer at home.host.address (10.77.N.2); home.router.wan is its outside
 *   lab.close();                                     // stops daemons, deletes every namespace
 *
 * Router kinds (every router drops new connections to itself from the outside, as home routers do):
 * - `cone`: `masquerade`. Linux keeps the source port where it is free, so the mapping is the
 *   same for every destination (endpoint-independent) while conntrack admits only answers from
 *   endpoints the host sent to: a port-restricted cone NAT, the common home router.
 * - `symmetric`: `masquerade fully-random`: a new random port for every new destination.
 * - `upnp`: `cone` plus miniupnpd (UPnP IGD and NAT-PMP/PCP) listening on the LAN. miniupnpd
 *   refuses a reserved WAN address, so this router's outside is a public-looking address
 *   (44.0.0.0/16 here), reachable only inside the lab's bridge.
 * - `no-udp`: `cone` for TCP, every forwarded UDP datagram dropped (both ways).
 *
 * All internet hosts and routers route everything on-link (`default dev eth0`), so the two
 * subnets share one segment without a router between them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type RouterKind = 'cone' | 'symmetric' | 'upnp' | 'no-udp';

export interface LabHost {
  /** The namespace to run the process in (`ip netns exec`). */
  ns: string;
  /** Its own address (public for internet hosts, 10.77.N.2 at home). */
  address: string;
}

export interface Home {
  kind: RouterKind;
  host: LabHost;
  router: { ns: string; wan: string; lan: string };
}

export interface HomeOptions {
  /**
   * Conntrack's UDP timeouts in this router (seconds): how long a mapping lives without traffic
   * (unreplied, and once answered). Short values show whether keepalives hold a mapping.
   */
  udpTimeoutSeconds?: number;
}

export interface NatLab {
  /**
   * A host on the internet: 198.51.100.N, or N in another /24 (`network`, e.g. '203.0.113'),
   * for tests that need peers in distinct network prefixes.
   */
  addPublicHost(network?: string): LabHost;
  addHome(kind: RouterKind, options?: HomeOptions): Home;
  /** Conntrack entries of a router (for tests of mappings and timeouts). */
  conntrack(home: Home): string;
  /**
   * Makes a router forget every UDP mapping to or from `remoteHost` (conntrack -D), as if they had
   * timed out: a test can start from "no path" however the peers talked before.
   */
  forgetUdp(home: Home, remoteHost: string): void;
  /** Stops the routers' daemons and deletes every namespace the lab made. */
  close(): void;
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { input, encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

function ip(...args: string[]): void {
  run('ip', args);
}

function inNs(ns: string, cmd: string, args: string[], input?: string): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

function has(cmd: string): boolean {
  try {
    run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** Null when `cmd` is installed; otherwise why a test that needs it must skip (e.g. conntrack for `forgetUdp`). */
export function labToolMissing(cmd: string, debianPackage = cmd): string | null {
  return has(cmd) ? null : `the NAT lab needs ${cmd} here: apt-get install ${debianPackage}`;
}

/** Null when the lab can be built here (for the kinds asked); otherwise why not, for the skip. */
export function natLabUnavailable(kinds: RouterKind[] = []): string | null {
  if (process.platform !== 'linux') return 'the NAT lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the NAT lab needs root (network namespaces, nftables)';
  if (!has('ip')) return 'the NAT lab needs ip (iproute2)';
  if (!has('nft')) return 'the NAT lab needs nft: apt-get install nftables';
  if (kinds.includes('upnp') && !has('miniupnpd')) return 'the upnp router needs miniupnpd: apt-get install miniupnpd-nftables';
  const probe = `dbsnatprobe${process.pid}`;
  try {
    ip('netns', 'add', probe);
  } catch (err) {
    return `cannot create a network namespace (${(err as Error).message.split('\n')[0]})`;
  }
  try {
    inNs(probe, 'nft', ['-f', '-'], 'table inet probe {}\n');
  } catch {
    return 'nft does not work in a network namespace here';
  } finally {
    ip('netns', 'del', probe);
  }
  return null;
}

/** The router's ruleset: one table, the chain names miniupnpd's nftables backend expects. */
function routerRules(kind: RouterKind): string {
  const masquerade = kind === 'symmetric' ? 'masquerade fully-random' : 'masquerade';
  const dropUdp = kind === 'no-udp' ? 'meta l4proto udp counter drop' : '';
  // The router answers nothing new on its outside, as home routers do. Without this, a SYN to a
  // port nobody forwards gets a RST from the router's own stack, which kills a TCP simultaneous
  // open (bench/nat-punch.ts: cone-cone 0/10 without, 50/50 with).
  return `table inet filter {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "wan" ct state new drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ${dropUdp}
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "wan" ${masquerade}
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`;
}

function miniupnpdConfig(lanSubnet: string): string {
  return [
    'ext_ifname=wan',
    'listening_ip=lan',
    'port=0',
    'enable_natpmp=yes',
    'enable_upnp=yes',
    'secure_mode=yes',
    'system_uptime=yes',
    'upnp_table_name=filter',
    'upnp_nat_table_name=filter',
    'upnp_forward_chain=miniupnpd',
    'upnp_nat_chain=prerouting_miniupnpd',
    'upnp_nat_postrouting_chain=postrouting_miniupnpd',
    'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
    `allow 1024-65535 ${lanSubnet} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}

let labs = 0;

export function createNatLab(): NatLab {
  // Namespace names must be unique on the machine: tests and CI may run labs side by side.
  const tag = `dbsnat${process.pid % 100_000}l${labs++}`;
  const hub = `${tag}-inet`;
  const made: string[] = [];
  const daemons: ChildProcess[] = [];
  const scratch = mkdtempSync(path.join(tmpdir(), 'dbs-natlab-'));
  const publicHosts = new Map<string, number>();
  let homes = 0;
  let links = 0;

  const addNs = (name: string): string => {
    const ns = `${tag}-${name}`;
    ip('netns', 'add', ns);
    made.push(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  };
  /** A veth from `ns` (named `ifname` there) to the internet bridge. */
  const plugIntoInternet = (ns: string, ifname: string, address: string): void => {
    const port = `v${links++}`;
    ip('link', 'add', ifname, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', hub);
    ip('-n', hub, 'link', 'set', port, 'master', 'br0');
    ip('-n', hub, 'link', 'set', port, 'up');
    ip('-n', ns, 'addr', 'add', address, 'dev', ifname);
    ip('-n', ns, 'link', 'set', ifname, 'up');
    ip('-n', ns, 'route', 'add', 'default', 'dev', ifname);
  };

  const close = () => {
    for (const d of daemons.splice(0)) d.kill('SIGKILL');
    for (const ns of made.splice(0).reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone (a test may delete one to cut a home off).
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  };

  try {
    ip('netns', 'add', hub);
    made.push(hub);
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
  } catch (err) {
    close();
    throw err;
  }

  return {
    addPublicHost(network = '198.51.100') {
      const n = (publicHosts.get(network) ?? 0) + 1;
      publicHosts.set(network, n);
      const ns = addNs(`pub${[...publicHosts.values()].reduce((a, b) => a + b, 0)}`);
      const address = `${network}.${n}`;
      plugIntoInternet(ns, 'eth0', `${address}/24`);
      return { ns, address };
    },

    addHome(kind, options = {}) {
      const n = ++homes;
      const routerNs = addNs(`rt${n}`);
      const hostNs = addNs(`home${n}`);
      // Only the UPnP router needs an address miniupnpd accepts as public.
      const wan = kind === 'upnp' ? `44.0.${n}.1` : `198.51.100.${100 + n}`;
      plugIntoInternet(routerNs, 'wan', kind === 'upnp' ? `${wan}/16` : `${wan}/24`);
      const lan = `10.77.${n}.1`;
      const address = `10.77.${n}.2`;
      ip('link', 'add', 'lan', 'netns', routerNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', hostNs);
      ip('-n', routerNs, 'addr', 'add', `${lan}/24`, 'dev', 'lan');
      ip('-n', routerNs, 'link', 'set', 'lan', 'up');
      ip('-n', hostNs, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', hostNs, 'link', 'set', 'eth0', 'up');
      ip('-n', hostNs, 'route', 'add', 'default', 'via', lan);
      inNs(routerNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      // The NAT rules load conntrack, whose timeouts exist only from then on.
      inNs(routerNs, 'nft', ['-f', '-'], routerRules(kind));
      if (options.udpTimeoutSeconds !== undefined) {
        // Per network namespace: only this router forgets its mappings sooner.
        const s = String(options.udpTimeoutSeconds);
        inNs(routerNs, 'sysctl', ['-qw', `net.netfilter.nf_conntrack_udp_timeout=${s}`, `net.netfilter.nf_conntrack_udp_timeout_stream=${s}`]);
      }
      if (kind === 'upnp') {
        const conf = path.join(scratch, `miniupnpd-${n}.conf`);
        writeFileSync(conf, miniupnpdConfig(`10.77.${n}.0/24`));
        const daemon = spawn('ip', ['netns', 'exec', routerNs, 'miniupnpd', '-d', '-f', conf, '-P', path.join(scratch, `miniupnpd-${n}.pid`)], {
          stdio: 'ignore',
        });
        daemons.push(daemon);
      }
      return { kind, host: { ns: hostNs, address }, router: { ns: routerNs, wan, lan } };
    },

    conntrack(home) {
      try {
        return inNs(home.router.ns, 'conntrack', ['-L']);
      } catch (err) {
        return `conntrack unavailable: ${(err as Error).message.split('\n')[0]}`;
      }
    },

    forgetUdp(home, remoteHost) {
      for (const side of ['--orig-dst', '--orig-src']) {
        try {
          inNs(home.router.ns, 'conntrack', ['-D', '-p', 'udp', side, remoteHost]);
        } catch {
          // conntrack exits 1 when nothing matched.
        }
      }
    },

    close,
  };
}
