// Small shared pieces: a pager, a storage bar, a time-series chart (uPlot).
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { get } from './api.js';
import { bytes } from './format.js';

export const html = htm.bind(h);

/** Loads a page of `path` (offset/limit), reloading when `deps` change; returns [page, reload, setOffset]. */
export function usePaged(path, params, deps, limit = 25) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get(path, { ...params, offset, limit }).then((p) => { setPage(p); setError(null); }, (e) => setError(e.message));
  useEffect(() => { void load(); }, [offset, ...deps]);
  return { page, error, reload: load, offset, setOffset, limit };
}

export function Pager({ paged, label }) {
  const { page, offset, setOffset, limit } = paged;
  if (!page) return null;
  const last = Math.min(offset + limit, page.total);
  return html`<div class="pager">
    <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - limit))}>‹ Newer</button>
    <span>${page.total === 0 ? `no ${label}` : `${offset + 1}–${last} of ${page.total} ${label}`}</span>
    <button disabled=${last >= page.total} onClick=${() => setOffset(offset + limit)}>Older ›</button>
  </div>`;
}

/** A bar of `parts` ([{label, value, cls}]) out of `total`. */
export function Bar({ parts, total }) {
  return html`<div class="bar" role="img" aria-label=${parts.map((p) => `${p.label} ${bytes(p.value)}`).join(', ')}>
    ${parts.map((p) => html`<div class=${`seg ${p.cls}`} ref=${(el) => { if (el) el.style.width = `${total > 0 ? Math.min(100, (100 * p.value) / total) : 0}%`; }}></div>`)}
  </div>
  <div class="legend">${parts.map((p) => html`<span><i class=${`dot ${p.cls}`}></i>${p.label} ${bytes(p.value)}</span>`)}</div>`;
}

let cssLoaded = null;
/** uPlot's stylesheet, added with the first chart: not one more request the first paint waits for. */
function uPlotCss() {
  cssLoaded ??= new Promise((resolve) => {
    const link = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: '/vendor/uPlot.min.css' });
    link.onload = link.onerror = resolve;
    document.head.append(link);
  });
  return cssLoaded;
}

/**
 * A uPlot chart of `data` ([xs, ...ys]) with `series` ({label, stroke, fill, scale, format}).
 * `windowS`: x is time, the last `windowS` seconds; `labels`: x is 0..n-1, labelled. A series
 * with `scale: 'right'` gets an axis of its own on the right.
 */
export function Chart({ data, series, height = 180, yFormat = (v) => bytes(v), bars = false, windowS, labels }) {
  const box = useRef(null);
  const plot = useRef(null);
  const labelRef = useRef(labels);
  labelRef.current = labels;
  useEffect(() => {
    let gone = false;
    // uPlot (145 KB of unminified module, not preloaded) is fetched and compiled once the page is
    // idle: the cards and lists show first, the chart a moment later.
    const load = () => void Promise.all([import('uplot'), uPlotCss()]).then(([{ default: uPlot }]) => {
      if (gone) return;
      draw(uPlot);
      plot.current.setData(dataRef.current);
    });
    const idle = typeof requestIdleCallback === 'function' ? requestIdleCallback(load, { timeout: 1000 }) : setTimeout(load, 50);
    return () => {
      gone = true;
      if (typeof cancelIdleCallback === 'function') cancelIdleCallback(idle);
      clearTimeout(idle);
      plot.current?.destroy();
    };
  }, []);
  const dataRef = useRef(data);
  dataRef.current = data;
  useEffect(() => { plot.current?.setData(data); }, [data]);
  return html`<div class="chart" ref=${box}></div>`;

  function draw(uPlot) {
    const width = box.current.clientWidth || 600;
    const paths = bars ? uPlot.paths.bars({ size: [0.5, 48] }) : undefined;
    const right = series.find((s) => s.scale === 'right');
    const x = windowS
      ? { time: true, range: () => { const now = Date.now() / 1000; return [now - windowS, now]; } }
      : labels ? { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } : { time: true };
    const xAxis = labels ? { values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? labelRef.current?.[v] ?? '' : '')), incrs: [1] } : {};
    plot.current = new uPlot({
      width, height,
      scales: { x, y: { range: (u, min, max) => [0, Math.max(max, 1)] }, ...(right ? { right: { range: (u, min, max) => [0, Math.max(max, 1)] } } : {}) },
      axes: [xAxis, { values: (u, vals) => vals.map(yFormat), size: 96 }, ...(right ? [{ scale: 'right', side: 1, grid: { show: false }, values: (u, vals) => vals.map(right.format ?? String) }] : [])],
      series: [labels ? { label: 'snapshot', value: (u, v) => labelRef.current?.[v] ?? '–' } : {}, ...series.map((s) => ({
        label: s.label, stroke: s.stroke, fill: s.fill, width: 2, scale: s.scale ?? 'y',
        value: (u, v) => (v === null || v === undefined ? '–' : (s.format ?? yFormat)(v)),
        ...(paths && !s.scale ? { paths } : {}),
      }))],
    }, data, box.current);
  }
}
