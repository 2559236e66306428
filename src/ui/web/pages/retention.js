// Forget (restic's --keep-* rules: the plan first, then applied as shown) and prune, with its report.
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { html } from '../components.js';
import { pruneSummary } from '../job-line.js';
import { time } from '../format.js';

const COUNTS = [['last', 'last'], ['hourly', 'hourly'], ['daily', 'daily'], ['weekly', 'weekly'], ['monthly', 'monthly'], ['yearly', 'yearly']];

function Plan({ plan, onApply, onCancel }) {
  return html`<div class="plan" data-field="forget-plan">
    <p>Policy: <b>${plan.policy}</b></p>
    ${plan.groups.map((g) => html`<div class="group">
      <h3 class="mono small">${g.source}${g.tags ? ` [${g.tags.join(',')}]` : ''}</h3>
      <table data-list="plan">
        <tbody>
          ${g.keep.map((k) => html`<tr key=${k.id} data-plan-keep=${k.id}><td class="ok">keep</td><td>${time(k.createdAt)}</td><td class="mono small">${k.id}</td><td class="small">${(k.reasons ?? []).join(', ')}</td></tr>`)}
          ${g.remove.map((s) => html`<tr key=${s.id} data-plan-remove=${s.id} class="warn"><td class="bad">remove</td><td>${time(s.createdAt)}</td><td class="mono small">${s.id}</td><td></td></tr>`)}
        </tbody>
      </table>
    </div>`)}
    <div class="row">
      ${plan.remove.length === 0
        ? html`<span data-field="forget-nothing">Nothing to remove under these rules.</span>`
        : html`<button type="button" class="danger" data-action="forget-apply" onClick=${onApply}>Forget these ${plan.remove.length} snapshot(s)</button>`}
      <button type="button" onClick=${onCancel}>Close the plan</button>
    </div>
  </div>`;
}

function Forget() {
  const [keep, setKeep] = useState({});
  const [plan, setPlan] = useState(null);
  const [error, setError] = useState(null);
  const set = (k) => (e) => setKeep({ ...keep, [k]: e.target.value });
  const rules = () => ({ ...keep, ...(keep.tag ? { tag: [keep.tag] } : {}) });
  const show = (e) => {
    e.preventDefault();
    post('/api/forget', { keep: rules(), dryRun: true }).then((p) => { setPlan(p); setError(null); }, (err) => setError(err.message));
  };
  // What is removed is the plan's list of IDs, not the rules again: exactly what was shown.
  const apply = () => post('/api/forget', { snapshots: plan.remove }).then(() => { setPlan(null); setError(null); }, (err) => setError(err.message));
  return html`<div data-card="forget">
    <h3>Forget snapshots</h3>
    <p class="small">Keep the newest snapshot of each of the last n hours, days… per folder (restic's rules; "unlimited" keeps every period). The plan is shown first; nothing is removed until you apply it. Forgetting frees no space by itself: prune does.</p>
    <form class="row keep" data-form="forget" onSubmit=${show}>
      ${COUNTS.map(([k, label]) => html`<label>${label} <input name=${`keep-${k}`} inputmode="numeric" placeholder="–" value=${keep[k] ?? ''} onInput=${set(k)} /></label>`)}
      <label>within <input name="keep-within" placeholder="e.g. 7d" value=${keep.within ?? ''} onInput=${set('within')} /></label>
      <label>tagged <input name="keep-tag" placeholder="a,b" value=${keep.tag ?? ''} onInput=${set('tag')} /></label>
      <button type="submit">Show the plan</button>
    </form>
    ${error && html`<p class="error" data-field="forget-error">${error}</p>`}
    ${plan && html`<${Plan} plan=${plan} onApply=${apply} onCancel=${() => setPlan(null)} />`}
  </div>`;
}

function Prune({ jobs }) {
  const [maxUnused, setMaxUnused] = useState('');
  const [error, setError] = useState(null);
  const last = jobs.find((j) => j.kind === 'prune');
  const run = (dryRun) => post('/api/prune', { dryRun, ...(maxUnused !== '' ? { maxUnused: Number(maxUnused) } : {}) }).then(() => setError(null), (e) => setError(e.message));
  return html`<div data-card="prune">
    <h3>Prune</h3>
    <p class="small">Reclaims space on hosts: cancels the shards no kept snapshot needs and repacks mostly-unused ones.</p>
    <div class="row">
      <label>unused space allowed <input name="max-unused" type="number" min="0" max="99" placeholder="5" value=${maxUnused} onInput=${(e) => setMaxUnused(e.target.value)} /> %</label>
      <button type="button" data-action="prune-dry" onClick=${() => void run(true)}>Prune (dry run)</button>
      <button type="button" class="danger" data-action="prune" onClick=${() => void run(false)}>Prune</button>
    </div>
    ${error && html`<p class="error" data-field="prune-error">${error}</p>`}
    ${last && html`<div data-field="prune-report" data-state=${last.state}>
      ${last.state === 'running' ? html`<p>Pruning${last.request.dryRun ? ' (dry run)' : ''}…</p>`
        : last.state === 'failed' ? html`<p class="error">${last.error.message}</p>`
        : html`<ul class="report">${pruneSummary(last.result).map((line) => html`<li>${line}</li>`)}</ul>`}
    </div>`}
  </div>`;
}

export function Retention({ jobs }) {
  return html`<section class="card wide split" data-card="retention">
    <${Forget} />
    <${Prune} jobs=${jobs} />
  </section>`;
}
