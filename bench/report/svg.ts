/**
 * Hand-written SVG charts for the Markdown report: one kind, a horizontal grouped bar chart
 * (category labels on the left, one bar per series in each group, value at the bar's end),
 * with an optional reference line (a target) and an optional log scale.
 */

export interface BarChart {
  title: string;
  /** Axis caption, e.g. 'records/s'. */
  unit: string;
  categories: string[];
  series: { name: string; values: (number | null)[] }[];
  log?: boolean;
  reference?: { value: number; label: string };
  format?: (v: number) => string;
}

const PALETTE = ['#3b6ea5', '#e07b39', '#4c9a5b', '#b04a5a', '#7a5ba8', '#8c7a3f'];
const BAR_H = 14;
const GAP = 4;
const GROUP_GAP = 10;
const LABEL_W = 280;
const PLOT_W = 420;
const VALUE_W = 90;
const TOP = 34;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function defaultFormat(v: number): string {
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e4) return String(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

export function barChart(c: BarChart): string {
  const fmt = c.format ?? defaultFormat;
  const all = c.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  if (c.reference) all.push(c.reference.value);
  const maxV = Math.max(...all, 1e-9);
  const minPos = Math.min(...all.filter((v) => v > 0), maxV);
  // Log scale: from one decade below the smallest positive value.
  const lo = c.log ? Math.pow(10, Math.floor(Math.log10(minPos)) - (minPos === maxV ? 1 : 0)) : 0;
  const hi = c.log ? Math.pow(10, Math.ceil(Math.log10(maxV))) : maxV * 1.05;
  const x = (v: number) =>
    c.log ? (PLOT_W * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo)) : (PLOT_W * v) / hi;
  const groupH = c.series.length * (BAR_H + GAP) - GAP;
  const legendH = c.series.length > 1 ? 20 : 0;
  const height = TOP + legendH + c.categories.length * (groupH + GROUP_GAP) + 30;
  const width = LABEL_W + PLOT_W + VALUE_W;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${esc(c.title)}</text>`,
  ];
  if (legendH) {
    let lx = LABEL_W;
    for (const [i, s] of c.series.entries()) {
      out.push(`<rect x="${lx}" y="${TOP - 6}" width="10" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`);
      out.push(`<text x="${lx + 14}" y="${TOP + 3}">${esc(s.name)}</text>`);
      lx += 20 + s.name.length * 6.5;
    }
  }
  let y = TOP + legendH;
  for (const [ci, cat] of c.categories.entries()) {
    out.push(`<text x="${LABEL_W - 6}" y="${y + groupH / 2 + 4}" text-anchor="end">${esc(cat)}</text>`);
    for (const [si, s] of c.series.entries()) {
      const v = s.values[ci];
      const by = y + si * (BAR_H + GAP);
      if (v === null || !Number.isFinite(v)) {
        out.push(`<text x="${LABEL_W + 4}" y="${by + BAR_H - 3}" fill="#888">n/a</text>`);
        continue;
      }
      const w = Math.max(1, x(v));
      out.push(
        `<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${cat} — ${s.name}: ${fmt(v)} ${c.unit}`)}</title></rect>`,
      );
      out.push(`<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${by + BAR_H - 3}">${esc(fmt(v))}</text>`);
    }
    y += groupH + GROUP_GAP;
  }
  const axisY = y;
  out.push(`<line x1="${LABEL_W}" y1="${TOP + legendH - 4}" x2="${LABEL_W}" y2="${axisY}" stroke="#333"/>`);
  out.push(`<line x1="${LABEL_W}" y1="${axisY}" x2="${LABEL_W + PLOT_W}" y2="${axisY}" stroke="#333"/>`);
  const ticks = c.log
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * Math.pow(10, i))
    : Array.from({ length: 5 }, (_, i) => (hi * i) / 4);
  for (const t of ticks) {
    const tx = LABEL_W + x(t);
    out.push(`<line x1="${tx.toFixed(1)}" y1="${axisY}" x2="${tx.toFixed(1)}" y2="${axisY + 4}" stroke="#333"/>`);
    out.push(`<text x="${tx.toFixed(1)}" y="${axisY + 15}" text-anchor="middle" fill="#444">${esc(fmt(t))}</text>`);
  }
  out.push(
    `<text x="${LABEL_W + PLOT_W}" y="${axisY + 27}" text-anchor="end" fill="#444">${esc(c.unit)}${c.log ? ' (log scale)' : ''}</text>`,
  );
  if (c.reference) {
    const rx = LABEL_W + x(c.reference.value);
    out.push(
      `<line x1="${rx.toFixed(1)}" y1="${TOP + legendH - 4}" x2="${rx.toFixed(1)}" y2="${axisY}" stroke="#c00" stroke-dasharray="4 3"/>`,
    );
    out.push(`<text x="${(rx + 3).toFixed(1)}" y="${axisY - 3}" fill="#c00">${esc(c.reference.label)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
