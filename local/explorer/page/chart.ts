// Events in and processed per second, one small inline SVG per partition on a shared scale. Lines
// differ by pattern as well as colour (solid in, dashed processed), and every row states its current
// figures in words, so the chart reads without colour and without sight (a table follows it).
import type { MetricsSample } from '../api';
import { h } from './dom';

const WINDOW = 60;
const WIDTH = 600;
const HEIGHT = 64;
const SVG = 'http://www.w3.org/2000/svg';

export function renderChart(samples: MetricsSample[], partitionIds: string[]): HTMLElement {
  const recent = samples.slice(-WINDOW);
  const peak = Math.max(
    1,
    ...recent.flatMap((sample) => Object.values(sample.partitions).flatMap((p) => [p.in, p.processed])),
  );
  const scale = niceCeiling(peak);
  const rows = partitionIds.map((id) => {
    const series = recent.map((sample) => sample.partitions[id] ?? { in: 0, processed: 0 });
    const now = series.at(-1) ?? { in: 0, processed: 0 };
    const total = (key: 'in' | 'processed') => Math.round(series.reduce((sum, point) => sum + point[key], 0));
    const summary = `now ${rate(now.in)} in, ${rate(now.processed)} processed per second`;
    return h(
      'div',
      { class: 'chart-row' },
      h(
        'div',
        { class: 'chart-label', 'aria-hidden': 'true' },
        h('strong', {}, `Partition ${id}`),
        h('span', {}, `${rate(now.in)}/s in · ${rate(now.processed)}/s processed`),
      ),
      sparkline(
        series,
        scale,
        `Partition ${id}: ${summary}; last minute about ${total('in')} in, ${total('processed')} processed`,
      ),
    );
  });
  return h(
    'figure',
    { class: 'chart' },
    h(
      'figcaption',
      {},
      h('span', {}, `Events per second, last minute (scale 0 to ${scale}/s)`),
      h(
        'span',
        { class: 'legend' },
        h('span', { class: 'key key-in', 'aria-hidden': 'true' }),
        'in (enqueued)',
        h('span', { class: 'key key-processed', 'aria-hidden': 'true' }),
        'processed (consumer log lines)',
      ),
    ),
    rows.length ? rows : h('p', { class: 'muted' }, 'No partitions yet.'),
  );
}

function sparkline(series: { in: number; processed: number }[], scale: number, label: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  for (const fraction of [0, 0.5, 1]) {
    const y = String(y0(fraction * scale, scale));
    svg.appendChild(svgElement('line', { x1: '0', x2: String(WIDTH), y1: y, y2: y, class: 'grid' }));
  }
  for (const key of ['in', 'processed'] as const) {
    const points = series.map((point, index) => {
      const x = ((WINDOW - series.length + index) / (WINDOW - 1)) * WIDTH;
      return `${x.toFixed(1)},${y0(point[key], scale).toFixed(1)}`;
    });
    if (points.length === 1) points.unshift(`0,${points[0].split(',')[1]}`);
    if (key === 'in' && points.length) {
      // "In" is also an area, so the two lines stay apart to the eye when they coincide.
      const first = points[0].split(',')[0];
      const last = points.at(-1)!.split(',')[0];
      const base = y0(0, scale).toFixed(1);
      svg.appendChild(
        svgElement('polygon', {
          points: `${first},${base} ${points.join(' ')} ${last},${base}`,
          class: 'area-in',
        }),
      );
    }
    svg.appendChild(svgElement('polyline', { points: points.join(' '), class: `line line-${key}` }));
  }
  return svg;
}

function svgElement(tag: string, attributes: Record<string, string>): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.setAttribute('vector-effect', 'non-scaling-stroke');
  return element;
}

function y0(value: number, scale: number): number {
  const margin = 3;
  return HEIGHT - margin - (Math.min(value, scale) / scale) * (HEIGHT - 2 * margin);
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((factor) => factor * magnitude >= value) ?? 10;
  return step * magnitude;
}

function rate(value: number): string {
  return value.toFixed(value >= 100 ? 0 : 1);
}
