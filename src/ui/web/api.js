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

const urlOf = (path, params) => `${path}${params ? `?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null))}` : ''}`;

export async function get(path, params) {
  // No headers of our own: a request that differs from index.html's preload would not match it.
  return answer(await fetch(urlOf(path, params), { credentials: 'same-origin' }));
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

/**
 * The live stream, opened when this module loads (in parallel with the first answer, not after
 * the first render); `listen` attaches the handlers: handlers[name](data) for each `status`,
 * `event` and `job` message, onState('live' | 'reconnecting' | 'closed'). Returns the close function.
 */
const es = new EventSource('/api/stream');
export function listen(handlers, onState) {
  for (const [name, fn] of Object.entries(handlers)) es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  es.onopen = () => onState?.('live');
  es.onerror = () => onState?.(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  if (es.readyState === EventSource.OPEN) onState?.('live');
  return () => es.close();
}
