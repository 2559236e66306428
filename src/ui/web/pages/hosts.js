// My hosts: who keeps our shards, how much, and whether they still answer audits.
import { Pager, html, usePaged } from '../components.js';
import { ago, bytes, short, time } from '../format.js';

export function Hosts({ status, jobs }) {
  const checks = jobs.filter((j) => j.state === 'done').length;
  const paged = usePaged('/api/hosts', {}, [checks, status.contracts.owner], 25);
  const items = paged.page?.items ?? [];
  return html`<h1>My hosts</h1>
  <section class="card wide">
    ${paged.page && html`<p>${paged.page.total} host(s) keep ${bytes(paged.page.bytes)} of ours; <b class=${paged.page.failing ? 'bad' : 'ok'}>${paged.page.failing} failing</b>.</p>`}
    <table data-list="hosts">
      <thead><tr><th>Host</th><th>Address</th><th class="num">Kept for us</th><th class="num">Contracts</th><th>Last audit</th><th>Strikes</th><th>State</th></tr></thead>
      <tbody>${items.map((h) => html`<tr key=${h.host} data-host=${h.host} data-health=${h.health}>
        <td class="mono" title=${h.host}>${short(h.host)}</td><td class="mono small">${h.address ?? '–'}</td>
        <td class="num">${bytes(h.bytes)}</td><td class="num">${h.contracts}</td>
        <td>${h.lastAuditAt ? ago(h.lastAuditAt) : 'not yet'}${h.unreachableSince ? html` <small class="bad">unreachable since ${time(h.unreachableSince)}</small>` : ''}</td><td>${h.strikes}</td>
        <td><span class=${`badge ${h.health}`}>${h.health === 'failing' ? `failing: ${h.reason}` : h.health === 'ok' ? 'reachable' : 'not audited yet'}</span></td></tr>`)}</tbody>
    </table>
    <${Pager} paged=${paged} label="hosts" />
  </section>`;
}
