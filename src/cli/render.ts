/** Plain-text tables and one-screen summaries of what the running peer reports. */
import type { ContractInfo, LedgerInfo } from '../contracts/service.js';
import type { PeerStatus } from '../peer/peer.js';
import type { ReachStatus } from '../nat/status.js';
import type { SnapshotInfo } from '../backup/engine.js';
import { formatBytes, formatDuration } from './units.js';

/** Left-aligned columns separated by two spaces; numbers are right-aligned. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

const short = (hex: string, n = 12) => hex.slice(0, n);
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

export function renderSnapshots(list: SnapshotInfo[]): string {
  if (list.length === 0) return 'no snapshots yet (`dbs backup PATH` makes one)';
  return table(['ID', 'CREATED (UTC)', 'FILES', 'SIZE', 'SOURCE', 'TAGS'], list.map((s) => [s.id, when(s.createdAt), s.files, formatBytes(s.bytes), s.source, s.tags?.join(',') ?? '']));
}

export function renderContracts(list: ContractInfo[]): string {
  if (list.length === 0) return 'no contracts';
  return table(
    ['ID', 'ROLE', 'COUNTERPART', 'ADDRESS', 'SHARD', 'SIZE', 'STATE', 'EXPIRES (UTC)'],
    list.map((c) => [short(c.id), c.role, short(c.counterpart), c.counterpartAddress ?? '-', short(c.shardHash), formatBytes(c.size), c.state, when(c.expiresAt * (c.expiresAt < 1e12 ? 1000 : 1))]),
  );
}

export function renderLedger(list: LedgerInfo[]): string {
  if (list.length === 0) return 'no counterparts yet';
  return table(
    ['COUNTERPART', 'LAST ADDRESS', 'WE KEEP FOR THEM', 'THEY KEEP FOR US', 'STRIKES', 'DEFAULTER SINCE'],
    list.map((l) => [short(l.counterpart), l.lastAddress ?? '-', formatBytes(l.keptForThem), formatBytes(l.keptByThem), l.strikes, l.defaulterSince ? when(l.defaulterSince) : '-']),
  );
}

export function renderStatus(s: PeerStatus & { dataDir: string; uptimeMs: number; pid: number }): string {
  const t = s.transfer;
  const refused = Object.entries(t.refused).map(([code, n]) => `${code} ${n}`).join(', ');
  return [
    `peer       ${s.publicKey}`,
    `address    ${s.address} (UDP and TCP), node ID ${s.nodeId}`,
    `data       ${s.dataDir} (pid ${s.pid}, up ${formatDuration(s.uptimeMs)})`,
    `storage    offered ${formatBytes(s.storage.offered)}, promised to others ${formatBytes(s.storage.promised)} (${formatBytes(s.storage.used)} used), free ${formatBytes(s.storage.free)}${DISK_NOTE[s.storage.disk] ?? ''}`,
    `contracts  ${s.contracts.owner} as owner, ${s.contracts.host} as host`,
    `reach      ${renderReach(s.reach)}`,
    `dht        ${s.dht.contacts} contacts, ${s.dht.values} stored values`,
    `transfer   ${t.connections} connections: ${t.puts} uploads (${formatBytes(t.bytesIn)} in), ${t.gets} downloads (${formatBytes(t.bytesOut)} out), ${t.audits} audits; refused: ${refused || 'none'}`,
    ...renderBackoff(s.backoff ?? []),
  ].join('\n');
}

const DISK_NOTE: Record<string, string> = { full: ' (the disk is full: new shards refused)', 'read-only': ' (the data directory is read-only: new shards refused)' };

/** Hosts placement routes around for now: one line each, or one line saying none. */
export function renderBackoff(list: PeerStatus['backoff']): string[] {
  const waiting = list.filter((b) => b.waiting);
  if (waiting.length === 0) return ['backoff    no host held back'];
  return waiting.map((b, i) => `${i === 0 ? 'backoff    ' : '           '}${short(b.host)} not asked until ${when(b.until)} UTC: ${b.reason} (${b.failures} failure${b.failures === 1 ? '' : 's'} in a row)`);
}

/** How others reach this peer, in one line: `public at A`, `mapped (UPnP) at A`, `client only: why` (and through which rendezvous it can be punched to). */
export function renderReach(r: ReachStatus): string {
  const checks = `UDP ${r.udp}, TCP ${r.tcp}`;
  if (r.reach === 'client-only') {
    // Registered with rendezvous: peers that know our key can still punch through to us (src/nat).
    const punchable = r.registeredWith?.length ? `; punchable through ${r.registeredWith.join(', ')}` : '';
    return `client only: ${r.reason ?? 'not reachable'}${r.address ? ` (address ${r.address}; ${checks}${punchable})` : ''}`;
  }
  if (r.reach === 'mapped' && r.mapping) return `mapped by ${r.mapping.protocol === 'upnp' ? 'UPnP' : 'NAT-PMP'} at ${r.mapping.external} (${checks})`;
  return `public at ${r.address} (${r.addressSource === 'observed' ? `as ${r.observers} networks see it; ` : ''}${checks})`;
}
