// uPlot is loaded on first use so the page's own modules, not the chart library, gate first paint.
import { fmt } from './ui.js';

let loading = null;
function loadUPlot() {
  if (!loading) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = '/dashboard/vendor/uPlot.min.css';
    document.head.append(link);
    loading = import('/dashboard/vendor/uPlot.esm.js').then((m) => m.default);
  }
  return loading;
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/**
 * A rolling time-series chart of `points` samples. series: [{ label, color: '--chart-1', scale?: 'right',
 * format?: (n) => string }]. Redraws itself on theme changes and resizes with its container.
 */
export async function liveChart(container, { series, points = 60, rightFormat = (n) => fmt.num(n), leftFormat = (n) => fmt.num(n), rightMin = 1 }) {
  const uPlot = await loadUPlot();
  const now = Math.floor(Date.now() / 1000);
  const data = [Array.from({ length: points }, (_, i) => now - points + i + 1), ...series.map(() => new Array(points).fill(null))];
  let plot = null;
  const axisFmt = (f) => (_u, vals) => vals.map((v) => (v === null ? '' : f(v)));
  // Counters start at zero; an idle series still gets a readable axis instead of a collapsed one.
  const range = (floor) => (_u, _min, max) => [0, Math.max(floor, (max ?? 0) * 1.15)];

  function build() {
    if (plot) plot.destroy();
    const muted = css('--muted');
    const grid = css('--grid');
    const hasRight = series.some((s) => s.scale === 'right');
    plot = new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height: 220,
        cursor: { drag: { x: false, y: false } },
        legend: { live: true },
        scales: { x: { time: true }, y: { range: range(1) }, right: { range: range(rightMin) } },
        series: [
          { label: 'time' },
          ...series.map((s) => ({
            label: s.label,
            scale: s.scale === 'right' ? 'right' : 'y',
            stroke: css(s.color),
            width: 2,
            fill: css(s.color) + '22',
            points: { show: false },
            value: (_u, v) => (v === null ? '—' : (s.scale === 'right' ? rightFormat : leftFormat)(v)),
          })),
        ],
        axes: [
          // Plain clock times: uPlot's default adds a date line whose labels collide near a minute boundary.
          { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, space: 70, values: (_u, vals) => vals.map((v) => new Date(v * 1000).toLocaleTimeString('en-GB')) },
          { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: axisFmt(leftFormat), size: 64 },
          ...(hasRight ? [{ side: 1, scale: 'right', stroke: muted, grid: { show: false }, ticks: { stroke: grid, width: 1 }, values: axisFmt(rightFormat), size: 72 }] : []),
        ],
      },
      data,
      container,
    );
  }
  build();

  const onTheme = () => build();
  window.addEventListener('railyard:theme', onTheme);
  const ro = new ResizeObserver(() => plot && plot.setSize({ width: Math.max(200, container.clientWidth), height: 220 }));
  ro.observe(container);

  return {
    push(values) {
      data[0].push(Math.floor(Date.now() / 1000));
      data[0].shift();
      values.forEach((v, i) => {
        data[i + 1].push(v);
        data[i + 1].shift();
      });
      plot.setData(data);
    },
    destroy() {
      window.removeEventListener('railyard:theme', onTheme);
      ro.disconnect();
      plot.destroy();
    },
  };
}
