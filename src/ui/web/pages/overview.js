// Overview: this peer, its storage, its network, traffic live, the last backup and what happened.
import { useEffect, useMemo } from 'preact/hooks';
import { get } from '../api.js';
import { Bar, Chart, html } from '../components.js';
import { ago, bytes, duration, fingerprint, rate, time } from '../format.js';

function rates(samples) {
  const xs = [], ups = [], downs = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    const dt = (b.at - a.at) / 1000 || 1;
    xs.push(b.at / 1000);
    ups.push(Math.max(0, (b.up - a.up) / dt));
    downs.push(Math.max(0, (b.down - a.down) / dt));
  }
  return [xs, ups, downs];
}

/** What the overview's counts depend on: a job that ended, the contracts' counts. */
export const summaryKey = (status, jobs) => `${jobs.find((j) => j.state !== 'running')?.id}/${status.contracts.owner}/${status.contracts.host}`;

export function Overview({ status, summary, onSummary, samples, events, jobs }) {
  // The first answer came with the page (app.js); asked again when what it counts has changed.
  const { snapshots, shards, hosts, guests } = summary;
  const key = summaryKey(status, jobs);
  useEffect(() => {
    if (summary.key !== key) get('/api/overview').then((o) => onSummary({ ...o, key }), () => {});
  }, [key]);
  const data = useMemo(() => rates(samples), [samples]);
  // The mark for the benchmark (bench/ui.ts): when every card first showed its data.
  useEffect(() => {
    if (performance.getEntriesByName('dbs-overview-ready').length === 0) performance.mark('dbs-overview-ready');
  }, []);
  const { storage, dht, transfer } = status;
  const snap = snapshots.last;
  const health = !shards ? '…' : shards.total === 0 ? 'no shards yet' : shards.degraded === 0 ? `all ${shards.total} shards fully replicated` : `${shards.degraded} of ${shards.total} shards below their replicas (repair runs each maintenance pass)`;
  return html`<h1>Overview</h1>
  <section class="cards" data-ready="yes">
    <div class="card" data-card="peer">
      <h2>This peer</h2>
      <dl>
        <dt>Key</dt><dd class="mono" data-field="fingerprint" title=${status.publicKey}>${fingerprint(status.publicKey)}</dd>
        <dt>Address</dt><dd class="mono" data-field="address" title="UDP and TCP: others reach this peer here (give it to friends as --bootstrap)">${status.address} <small>UDP+TCP</small></dd>
        <dt>Node ID</dt><dd class="mono">${status.nodeId.slice(0, 16)}…</dd>
        <dt>Uptime</dt><dd data-field="uptime">${duration(status.uptimeMs)}</dd>
        <dt>Version</dt><dd data-field="version">${status.version}</dd>
        <dt>Data</dt><dd class="mono small">${status.dataDir}</dd>
      </dl>
    </div>
    <div class="card" data-card="storage">
      <h2>Storage offered to others</h2>
      <${Bar} total=${storage.offered} parts=${[
        { label: 'used', value: storage.used ?? 0, cls: 'used' },
        { label: 'not arrived', value: Math.max(0, storage.promised - (storage.used ?? 0)), cls: 'promised' },
        { label: 'free', value: storage.free, cls: 'free' },
      ]} />
      <p data-field="storage">${bytes(storage.offered)} offered: ${bytes(storage.promised)} promised to guests, ${bytes(storage.used ?? 0)} of it used; ${bytes(storage.free)} free</p>
      <p>Contracts: <b data-field="owner-contracts">${status.contracts.owner}</b> for our shards, <b data-field="host-contracts">${status.contracts.host}</b> kept for others</p>
    </div>
    <div class="card" data-card="network">
      <h2>Network</h2>
      <dl>
        <dt>DHT contacts</dt><dd data-field="contacts">${dht.contacts}</dd>
        <dt>DHT records</dt><dd>${dht.values} (${bytes(dht.valueBytes)})</dd>
        <dt>Hosts</dt><dd data-field="hosts">${hosts ? `${hosts.total} (${hosts.failing} failing)` : '…'}</dd>
        <dt>Guests</dt><dd>${guests ? guests.total : '…'}</dd>
        <dt>Uploaded</dt><dd>${bytes((status.traffic?.sent ?? 0) + transfer.bytesOut)}</dd>
        <dt>Downloaded</dt><dd>${bytes((status.traffic?.received ?? 0) + transfer.bytesIn)}</dd>
      </dl>
    </div>
    <div class="card" data-card="backup">
      <h2>Last backup</h2>
      ${snap ? html`<p data-field="last-backup"><b>${time(snap.createdAt)}</b> (${ago(snap.createdAt)})</p>
        <p class="mono small">${snap.source}</p><p>${snap.files} files, ${bytes(snap.bytes)}; ${snapshots.total} snapshot(s) in all</p>`
      : html`<p data-field="last-backup">No backup yet. <a href="#backups">Back up a folder</a>.</p>`}
      <p data-field="health" class=${shards?.degraded ? 'warn' : 'ok'}>${health}</p>
    </div>
  </section>
  <section class="card wide">
    <h2>Upload and download (live)</h2>
    <p class="small">Shard traffic over TCP, per second, for the last two minutes: upload is our shards sent to hosts and theirs served back to owners; download the reverse (what we keep for others, restores, audits). Now ${rate(data[1].at(-1) ?? 0)} up, ${rate(data[2].at(-1) ?? 0)} down.</p>
    <${Chart} data=${data} windowS=${120} yFormat=${(v) => rate(v)} series=${[{ label: 'upload', stroke: '#e5822c' }, { label: 'download', stroke: '#2c7be5' }]} />
  </section>
  <section class="card wide">
    <h2>Recent events</h2>
    <ul class="events" data-list="events">
      ${events.length === 0 ? html`<li class="muted">Nothing yet.</li>` : events.slice(0, 15).map((e) => html`<li class=${e.level}><time>${time(e.at)}</time> ${e.text ?? e.event}</li>`)}
    </ul>
  </section>`;
}
