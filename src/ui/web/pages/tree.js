// One snapshot's tree, a folder at a time, and "restore this path to…".
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { Pager, html, usePaged } from '../components.js';
import { bytes, time } from '../format.js';

function Restore({ snapshot, path, onDone }) {
  const [dest, setDest] = useState('');
  const [error, setError] = useState(null);
  const submit = (e) => {
    e.preventDefault();
    post('/api/restore', { snapshot: snapshot.id, dest, ...(path ? { path } : {}) }).then(onDone, (err) => setError(err.message));
  };
  return html`<form class="row restore" data-form="restore" onSubmit=${submit}>
    <label>Restore <b class="mono">${path || '(whole snapshot)'}</b> to <input name="dest" placeholder="/an/empty/or/new/folder" value=${dest} onInput=${(e) => setDest(e.target.value)} required /></label>
    <button type="submit">Restore</button>
    ${error && html`<span class="error" data-field="restore-error">${error}</span>`}
  </form>`;
}

export function TreeBrowser({ snapshot, onClose }) {
  const [dir, setDir] = useState('');
  const [restoring, setRestoring] = useState(null);
  const paged = usePaged('/api/entries', { snapshot: snapshot.id, dir }, [dir], 50);
  const parts = dir ? dir.split('/') : [];
  const open = (d) => { setDir(d); paged.setOffset(0); setRestoring(null); };
  return html`<section class="card wide" data-card="tree">
    <h2>Files in snapshot <span class="mono">${snapshot.id}</span> <button class="link" onClick=${onClose}>close</button></h2>
    <div class="crumbs" data-field="crumbs">
      <a href="#backups" onClick=${(e) => { e.preventDefault(); open(''); }}>${snapshot.source}</a>
      ${parts.map((p, i) => html` / <a href="#backups" onClick=${(e) => { e.preventDefault(); open(parts.slice(0, i + 1).join('/')); }}>${p}</a>`)}
      <button class="small" data-action="restore-dir" onClick=${() => setRestoring(dir)}>Restore this folder…</button>
    </div>
    ${restoring !== null && html`<${Restore} snapshot=${snapshot} path=${restoring} onDone=${() => setRestoring(null)} />`}
    ${paged.error && html`<p class="error">${paged.error}</p>`}
    <table data-list="entries">
      <thead><tr><th>Name</th><th class="num">Size</th><th>Modified</th><th></th></tr></thead>
      <tbody>${(paged.page?.entries ?? []).map((e) => html`<tr key=${e.path} data-entry=${e.path} data-type=${e.type}>
        <td>${e.type === 'dir' ? html`<a href="#backups" class="dir" onClick=${(ev) => { ev.preventDefault(); open(e.path); }}><b>${e.name}/</b></a>` : e.type === 'symlink' ? html`${e.name} <small>→ ${e.target}</small>` : e.name}</td>
        <td class="num">${e.type === 'file' ? bytes(e.size) : ''}</td><td>${time(e.mtimeMs)}</td>
        <td><button class="small" data-action="restore" onClick=${() => setRestoring(e.path)}>Restore…</button></td></tr>`)}</tbody>
    </table>
    <${Pager} paged=${{ ...paged, page: paged.page && { ...paged.page, items: paged.page.entries } }} label="entries" />
  </section>`;
}
