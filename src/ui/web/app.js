// The page: one app, four views chosen by the URL's hash, live through one event stream.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, prefetch, stream } from './api.js';
import { html } from './components.js';
import { OVERVIEW_REQUESTS, Overview } from './pages/overview.js';
import { Backups } from './pages/backups.js';
import { Hosts } from './pages/hosts.js';
import { Guests } from './pages/guests.js';

const PAGES = { overview: ['Overview', Overview], backups: ['Backups', Backups], hosts: ['My hosts', Hosts], guests: ['My guests', Guests] };
/** Status samples kept for the rate chart (one every 2 s: two minutes). */
const SAMPLES = 60;

const pageFromHash = () => (location.hash.slice(1) in PAGES ? location.hash.slice(1) : 'overview');

// The first answers are asked for at once, not after the first render has asked for them.
prefetch([['/api/status'], ['/api/events', { limit: 50 }], ['/api/jobs'], ...(pageFromHash() === 'overview' ? OVERVIEW_REQUESTS : [])]);

function App() {
  const [page, setPage] = useState(pageFromHash());
  const [status, setStatus] = useState(null);
  const [samples, setSamples] = useState([]);
  const [events, setEvents] = useState([]);
  const [jobs, setJobs] = useState([]);
  const [link, setLink] = useState('connecting');
  const [error, setError] = useState(null);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    addEventListener('hashchange', onHash);
    get('/api/status').then(setStatus, (e) => setError(e.message));
    get('/api/events', { limit: 50 }).then(setEvents, () => {});
    get('/api/jobs').then(setJobs, () => {});
    const close = stream({
      status: (s) => {
        setStatus(s);
        // Upload: what our client sent to hosts plus what our server sent back to owners; download the reverse.
        const up = s.transfer.bytesOut + (s.traffic?.sent ?? 0);
        const down = s.transfer.bytesIn + (s.traffic?.received ?? 0);
        setSamples((old) => [...old.slice(-(SAMPLES - 1)), { at: Date.now(), up, down }]);
      },
      event: (e) => setEvents((old) => [e, ...old].slice(0, 50)),
      job: (j) => setJobs((old) => [j, ...old.filter((x) => x.id !== j.id)].sort((a, b) => b.id - a.id).slice(0, 20)),
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
  if (!status) return html`<p class="loading">Loading…</p>`;
  const Page = PAGES[page][1];
  return html`<div class="layout">
    <nav>
      <div class="brand">dbs <small>${status.address}</small></div>
      ${Object.entries(PAGES).map(([id, [label]]) => html`<a href=${`#${id}`} class=${id === page ? 'active' : ''} data-page=${id}>${label}</a>`)}
      <div class=${`link ${link}`} data-link=${link}>${link === 'live' ? '● live' : link}</div>
    </nav>
    <main data-view=${page}><${Page} status=${status} samples=${samples} events=${events} jobs=${jobs} /></main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
