/**
 * Hole punching as the peer does it, through the NAT lab's kernel NATs: two homes behind cone NATs
 * (masquerade) register with three public rendezvous; one punches to the other `--tries` times
 * through a rendezvous (PUNCH_REQUEST → PUNCH_NOTIFY → PUNCH both ways), then opens a TCP stream
 * on the punched path (TCP_PUNCH, simultaneous open). Between tries the routers forget the UDP
 * mappings between the homes (conntrack -D), so every try starts from "no path"; TCP uses fresh
 * ports each time. The rendezvous's rate limits are lifted for the run (they would allow one
 * punch per target every 2 s), and punch sessions last 1.5 s so they do not pile up.
 *
 *   sudo node dist/bench/nat-rendezvous.js [--tries 50]      (needs root, ip, nft, conntrack)
 *
 * Prints success counts and median / 95th percentile times; results go to docs/benchmarks.md.
 */
import { createNatLab, labToolMissing, natLabUnavailable } from '../test/helpers/nat-lab.js';
import { LabNode, PUNCH_CHILD } from '../test/helpers/nat-node.js';

const tries = Number(process.argv[process.argv.indexOf('--tries') + 1] ?? 50) || 50;
const PORT = 7000;
const reason = natLabUnavailable() ?? labToolMissing('conntrack');
if (reason) {
  console.error(`skipped: ${reason}`);
  process.exit(0);
}

const lab = createNatLab();
const nodes: LabNode[] = [];
const lifted = { perSecond: 1000, burst: 1000 };
try {
  const pubs = [lab.addPublicHost('198.51.100'), lab.addPublicHost('203.0.113'), lab.addPublicHost('192.0.2')];
  for (const p of pubs) {
    const bootstrap = nodes.map((n) => n.address);
    nodes.push(await LabNode.start(p.ns, { host: p.address, port: PORT, bootstrap, rendezvous: { perRequesterPrefix: lifted, perTarget: lifted, overall: lifted } }));
  }
  const bootstrap = nodes.map((n) => n.address);
  const homes = [lab.addHome('cone', { udpTimeoutSeconds: 30 }), lab.addHome('cone', { udpTimeoutSeconds: 30 })];
  const config = { host: '0.0.0.0', port: PORT, bootstrap, addressQuorum: 2, keepaliveIntervalMs: 5000, punch: { sessionMs: 1500 } };
  const [a, b] = await Promise.all(homes.map((h) => LabNode.start(h.host.ns, config, PUNCH_CHILD)));
  nodes.push(a!, b!);
  const registered = await b!.until((s) => s.reach.registeredWith.length === 3, 'three registrations', 30_000);
  await a!.until((s) => s.reach.registeredWith.length === 3, 'three registrations', 30_000);
  const via: string[] = registered.reach.registeredWith;
  const wanB = `${homes[1]!.router.wan}:${PORT}`;
  const udp: number[] = [];
  const tcp: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < tries; i++) {
    lab.forgetUdp(homes[0]!, homes[1]!.router.wan);
    lab.forgetUdp(homes[1]!, homes[0]!.router.wan);
    // One rendezvous after another, as an owner would find them in the record.
    const r = await a!.call('punch', { to: wanB, via: [via[i % via.length]] });
    if (r.udpMs !== undefined) udp.push(r.udpMs);
    if (r.tcpMs !== undefined) tcp.push(r.tcpMs);
    if (r.error) failures.push(`${r.stage}: ${r.error}`);
    // Past the sessions of this try (1.5 s), so the next starts clean.
    await new Promise((res) => setTimeout(res, 1600));
  }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length ? `${Math.round(s[Math.floor(s.length / 2)]!)} / ${Math.round(s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!)}` : '-';
  };
  console.log('| path (cone - cone, through a rendezvous) | success | median / p95 (ms) |');
  console.log('| --- | --- | --- |');
  console.log(`| UDP punch (request, notify, PUNCH both ways) | ${udp.length}/${tries} | ${stats(udp)} |`);
  console.log(`| TCP simultaneous open on the punched path | ${tcp.length}/${udp.length} | ${stats(tcp)} |`);
  if (failures.length) console.log(`failures: ${[...new Set(failures)].join('; ')}`);
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  lab.close();
}
