// Backups: start one, see the jobs, the snapshots (chart and list), browse and restore, each shard's replicas.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, post } from '../api.js';
import { Chart, Pager, html, usePaged } from '../components.js';
import { JobLine } from '../job-line.js';
import { ago, bytes, duration, short, shortTime, time } from '../format.js';
import { Retention } from './retention.js';
import { TreeBrowser } from './tree.js';

function Actions({ jobs }) {
  const [path, setPath] = useState('');
  const [replicas, setReplicas] = useState(3);
  const [error, setError] = useState(null);
  const run = (what, body) => post(what, body).then(() => setError(null), (e) => setError(e.message));
  return html`<section class="card wide" data-card="actions">
    <h2>Actions</h2>
    <form class="row" data-form="backup" onSubmit=${(e) => { e.preventDefault(); void run('/api/backup', { path, replicas: Number(replicas) }); }}>
      <label>Back up now <input name="path" placeholder="/absolute/path/on/the/peer" value=${path} onInput=${(e) => setPath(e.target.value)} required /></label>
      <label>replicas <input name="replicas" type="number" min="1" max="16" value=${replicas} onInput=${(e) => setReplicas(e.target.value)} /></label>
      <button type="submit">Back up</button>
      <button type="button" data-action="check" onClick=${() => void run('/api/check')}>Check now (audit every host)</button>
    </form>
    ${error && html`<p class="error" data-field="action-error">${error}</p>`}
    <ul class="jobs" data-list="jobs">${jobs.slice(0, 6).map((j) => html`<${JobLine} key=${j.id} job=${j} />`)}</ul>
  </section>`;
}

/** Backrest's chart: per snapshot, the bytes it added (bars, left) and how long it took (line, right). */
function SnapshotChart({ items }) {
  const rows = useMemo(() => [...items].sort((a, b) => a.createdAt - b.createdAt), [items]);
  const data = useMemo(() => [rows.map((_, i) => i), rows.map((s) => s.addedBytes ?? null), rows.map((s) => (s.durationMs ?? null) === null ? null : s.durationMs / 1000)], [rows]);
  const labels = useMemo(() => rows.map((s) => shortTime(s.createdAt)), [rows]);
  if (items.length === 0) return null;
  return html`<${Chart} data=${data} bars=${true} height=${160} labels=${labels} yFormat=${(v) => bytes(v)}
    series=${[{ label: 'bytes added', stroke: '#2c7be5', fill: 'rgba(44,123,229,0.25)' }, { label: 'duration', stroke: '#e5822c', scale: 'right', format: (v) => duration(v * 1000) }]} />`;
}

function Snapshots({ jobs, onBrowse, browsing }) {
  // The newest finished backup or forget: the list reloads when it changes (no page reload).
  const changed = jobs.find((j) => (j.kind === 'backup' || j.kind === 'forget') && j.state === 'done')?.id;
  const paged = usePaged('/api/snapshots', {}, [changed], 20);
  const items = paged.page?.items ?? [];
  return html`<section class="card wide" data-card="snapshots">
    <h2>Snapshots</h2>
    <p class="small">Each snapshot on this page of the list: the shard bytes its backup added to the network (bars, left; one copy, before replicas) and how long it took (line, right). Snapshots recovered from the network on a new machine do not carry these two figures.</p>
    <${SnapshotChart} items=${items} />
    <table data-list="snapshots">
      <thead><tr><th>Time</th><th>Source</th><th class="num">Files</th><th class="num">Size</th><th class="num">Added</th><th class="num">Took</th><th>Tags</th><th>ID</th><th></th></tr></thead>
      <tbody>${items.map((s) => html`<tr key=${s.id} data-snapshot=${s.id} class=${browsing === s.id ? 'selected' : ''}>
        <td>${time(s.createdAt)} <small>${ago(s.createdAt)}</small></td><td class="mono small">${s.source}</td>
        <td class="num">${s.files}</td><td class="num">${bytes(s.bytes)}</td>
        <td class="num" data-field="added">${bytes(s.addedBytes)}</td><td class="num" data-field="took">${duration(s.durationMs)}</td>
        <td data-field="tags">${(s.tags ?? []).map((t) => html`<span class="tag">${t}</span>`)}</td><td class="mono small">${s.id}</td>
        <td><button data-action="browse" onClick=${() => onBrowse(s)}>Browse</button></td></tr>`)}</tbody>
    </table>
    <${Pager} paged=${paged} label="snapshots" />
  </section>`;
}

function Watches({ jobs }) {
  const [list, setList] = useState(null);
  useEffect(() => { get('/api/watches').then(setList, () => setList([])); }, [jobs.length]);
  if (!list || list.length === 0) return null;
  return html`<section class="card wide" data-card="watches">
    <h2>Watched folders</h2>
    <table data-list="watches">
      <thead><tr><th>Folder</th><th>Backs up after</th><th>Last ran</th><th>Last result</th></tr></thead>
      <tbody>${list.map((w) => html`<tr key=${w.path}><td class="mono small">${w.path}</td><td>${duration(w.quietMs)} quiet</td>
        <td>${ago(w.lastRunAt)}</td><td class=${w.lastError ? 'bad' : ''}>${w.lastError ?? (w.lastSnapshot ? html`<span class="mono small">${w.lastSnapshot}</span>` : '–')}</td></tr>`)}</tbody>
    </table>
  </section>`;
}

function Shards({ status }) {
  const paged = usePaged('/api/shards', {}, [status.contracts.owner], 20);
  const items = paged.page?.items ?? [];
  return html`<section class="card wide" data-card="shards">
    <h2>Shards and their replicas</h2>
    ${paged.page && html`<p class=${paged.page.degraded ? 'warn' : 'ok'}>${paged.page.degraded ? `${paged.page.degraded} shard(s) below their replicas` : 'every shard has the replicas it wants'}</p>`}
    <table data-list="shards">
      <thead><tr><th>Shard</th><th>Kind</th><th class="num">Size</th><th>Live / wanted</th><th>Last audit</th><th>Hosts</th></tr></thead>
      <tbody>${items.map((s) => {
        const audited = Math.max(0, ...s.replicas.map((r) => r.lastAuditAt ?? 0));
        const away = s.replicas.filter((r) => r.unreachableSince !== null).length;
        return html`<tr key=${s.hash} class=${s.live < s.wanted ? 'warn' : ''}>
          <td class="mono">${short(s.hash)}</td><td>${s.kind}</td><td class="num">${bytes(s.size)}</td>
          <td>${s.live} / ${s.wanted}</td><td>${audited ? ago(audited) : 'not yet'}${away ? html` <span class="bad">${away} unreachable</span>` : ''}</td>
          <td class="mono small">${s.replicas.map((r) => short(r.host)).join(' ')}</td></tr>`;
      })}</tbody>
    </table>
    <${Pager} paged=${paged} label="shards" />
  </section>`;
}

export function Backups({ status, jobs }) {
  const [browsing, setBrowsing] = useState(null);
  useEffect(() => {
    if (browsing) document.querySelector('[data-card="tree"]')?.scrollIntoView({ block: 'nearest' });
  }, [browsing]);
  // A snapshot forgotten while its files are shown: the browser closes (its trees may be pruned).
  const forgotten = jobs.find((j) => j.kind === 'forget' && j.state === 'done' && browsing && j.request.snapshots.includes(browsing.id));
  useEffect(() => {
    if (forgotten) setBrowsing(null);
  }, [forgotten?.id]);
  return html`<h1>Backups</h1>
    <${Actions} jobs=${jobs} />
    <${Snapshots} jobs=${jobs} browsing=${browsing?.id} onBrowse=${setBrowsing} />
    ${browsing && html`<${TreeBrowser} key=${browsing.id} snapshot=${browsing} onClose=${() => setBrowsing(null)} />`}
    <${Retention} jobs=${jobs} />
    <${Watches} jobs=${jobs} />
    <${Shards} status=${status} />`;
}
