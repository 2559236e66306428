// The page: one app, four views chosen by the URL's hash, live through one event stream.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, listen } from './api.js';
import { html } from './components.js';
import { Overview, summaryKey } from './pages/overview.js';

const PAGES = { overview: 'Overview', backups: 'Backups', hosts: 'My hosts', guests: 'My guests' };
/**
 * The other pages are modules of their own, imported on the first visit or once the overview is
 * up and the browser idle: the first screen compiles only what it shows.
 */
const LAZY = {
  backups: () => import('./pages/backups.js').then((m) => m.Backups),
  hosts: () => import('./pages/hosts.js').then((m) => m.Hosts),
  guests: () => import('./pages/guests.js').then((m) => m.Guests),
};
const components = { overview: Overview };
const loadPage = (id) => (components[id] ? Promise.resolve() : LAZY[id]().then((c) => { components[id] = c; }));
const whenIdle = (fn) => (typeof requestIdleCallback === 'function' ? requestIdleCallback(fn, { timeout: 2000 }) : setTimeout(fn, 200));
/** Status samples kept for the rate chart (one every 2 s: two minutes). */
const SAMPLES = 60;

const newestFirst = (jobs) => jobs.sort((a, b) => b.id - a.id).slice(0, 20);

const pageFromHash = () => (location.hash.slice(1) in PAGES ? location.hash.slice(1) : 'overview');

// The first screen's data in one answer, which index.html asked for before any script ran
// (<link rel=preload>): this get() takes that response.
const first = get('/api/overview');

function App() {
  const [page, setPage] = useState(pageFromHash());
  const [status, setStatus] = useState(null);
  const [summary, setSummary] = useState(null);
  const [samples, setSamples] = useState([]);
  const [events, setEvents] = useState([]);
  const [jobs, setJobs] = useState([]);
  const [link, setLink] = useState('connecting');
  const [error, setError] = useState(null);
  const [, pageLoaded] = useState(0);

  useEffect(() => {
    if (!components[page]) loadPage(page).then(() => pageLoaded((n) => n + 1), (e) => setError(e.message));
  }, [page]);
  useEffect(() => {
    if (summary) whenIdle(() => Object.keys(LAZY).forEach((id) => void loadPage(id).catch(() => {})));
  }, [!summary]);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener('hashchange', onHash);
    first.then((o) => {
      setSummary({ ...o, key: summaryKey(o.status, o.jobs) });
      // The stream may have been first: what it sent is newer than this answer.
      setEvents((old) => [...old, ...o.events.filter((e) => !old.some((x) => x.seq === e.seq))].slice(0, 50));
      setJobs((old) => newestFirst([...old, ...o.jobs.filter((j) => !old.some((x) => x.id === j.id))]));
      setStatus((old) => old ?? o.status);
    }, (e) => setError(e.message));
    const close = listen({
      status: (s) => {
        setStatus(s);
        // Upload: what our client sent to hosts plus what our server sent back to owners; download the reverse.
        const up = s.transfer.bytesOut + (s.traffic?.sent ?? 0);
        const down = s.transfer.bytesIn + (s.traffic?.received ?? 0);
        setSamples((old) => [...old.slice(-(SAMPLES - 1)), { at: Date.now(), up, down }]);
      },
      event: (e) => setEvents((old) => [e, ...old].slice(0, 50)),
      job: (j) => setJobs((old) => newestFirst([j, ...old.filter((x) => x.id !== j.id)])),
    }, (state) => {
      if (state === 'live' && performance.getEntriesByName('dbs-live').length === 0) performance.mark('dbs-live');
      setLink(state);
    });
    return () => {
      close();
      removeEventListener('hashchange', onHash);
    };
  }, []);

  if (error) return html`<main class="fatal"><h1>dbs</h1><p>${error}</p><p>Open the address <code>dbs ui</code> prints (it carries the access token).</p></main>`;
  if (!status || !summary) return html`<p class="loading">Loading…</p>`;
  const Page = components[page];
  return html`<div class="layout">
    <nav>
      <div class="brand">dbs <small>${status.address}</small></div>
      ${Object.entries(PAGES).map(([id, label]) => html`<a href=${`#${id}`} class=${id === page ? 'active' : ''} data-page=${id}>${label}</a>`)}
      <div class=${`link ${link}`} data-link=${link}>${link === 'live' ? '● live' : link}</div>
    </nav>
    <main data-view=${page}>${Page ? html`<${Page} status=${status} summary=${summary} onSummary=${setSummary} samples=${samples} events=${events} jobs=${jobs} />` : html`<p class="loading">Loading…</p>`}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
