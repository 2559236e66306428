// My guests: whose shards we keep, how much, the balance of the exchange, strikes.
import { Pager, html, usePaged } from '../components.js';
import { bytes, short, time } from '../format.js';

export function Guests({ status }) {
  const paged = usePaged('/api/guests', {}, [status.contracts.host], 25);
  const items = paged.page?.items ?? [];
  return html`<h1>My guests</h1>
  <section class="card wide">
    ${paged.page && html`<p>We keep ${bytes(paged.page.bytes)} for ${paged.page.total} guest(s). Balance: what they keep for us minus what we keep for them.</p>`}
    <table data-list="guests">
      <thead><tr><th>Guest</th><th>Address</th><th class="num">We keep</th><th class="num">They keep</th><th class="num">Balance</th><th class="num">Contracts</th><th>Strikes</th></tr></thead>
      <tbody>${items.map((g) => html`<tr key=${g.guest} data-guest=${g.guest}>
        <td class="mono" title=${g.guest}>${short(g.guest)}</td><td class="mono small">${g.address ?? '–'}</td>
        <td class="num">${bytes(g.bytes)}</td><td class="num">${bytes(g.keptByThem)}</td>
        <td class=${`num ${g.balance < 0 ? 'warn' : ''}`}>${g.balance < 0 ? '−' : '+'}${bytes(Math.abs(g.balance))}</td>
        <td class="num">${g.contracts}</td>
        <td>${g.strikes}${g.defaulterSince ? html` <span class="badge failing">defaulter since ${time(g.defaulterSince)}</span>` : ''}</td></tr>`)}</tbody>
    </table>
    <${Pager} paged=${paged} label="guests" />
  </section>`;
}
