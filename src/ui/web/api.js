// The page's side of the API: same-origin requests only (the HttpOnly cookie carries the access
// token), the CSRF token on every POST, and the live stream as Server-Sent Events.
let csrf = null;

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function answer(res) {
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(body?.error?.message ?? `${res.status} ${res.statusText}`, res.status, body?.error?.code);
  return body;
}

/** Requests started before the components that use them exist (once each): see prefetch(). */
const early = new Map();

const urlOf = (path, params) => `${path}${params ? `?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null))}` : ''}`;

export async function get(path, params) {
  const url = urlOf(path, params);
  const started = early.get(url);
  if (started) {
    early.delete(url);
    return started;
  }
  return answer(await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } }));
}

/** Starts GETs now, while the page is still being built; the first get() of the same URL takes the answer. */
export function prefetch(requests) {
  for (const [path, params] of requests) {
    const url = urlOf(path, params);
    const p = fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } }).then(answer);
    p.catch(() => {});
    early.set(url, p);
  }
}

export async function post(path, body = {}) {
  const send = async () => {
    if (!csrf) csrf = (await get('/api/session')).csrf;
    return answer(await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    }));
  };
  try {
    return await send();
  } catch (err) {
    // The peer restarted (a new process, a new CSRF token) while the page stayed open: ask once more.
    if (err.code !== 'BAD_CSRF') throw err;
    csrf = null;
    return send();
  }
}

/** Calls handlers[name](data) for each `status`, `event` and `job` message; returns the close function. */
export function stream(handlers, onState) {
  const es = new EventSource('/api/stream');
  for (const [name, fn] of Object.entries(handlers)) es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  es.onopen = () => onState?.('live');
  es.onerror = () => onState?.(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  return () => es.close();
}
