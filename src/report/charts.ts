// Charts of a series of runs, for people: as Mermaid `xychart-beta` blocks, which GitHub renders in
// job summaries and comments, and as standalone SVG files for a README or a release. One chart
// plots named series of numbers over labelled points (a run's short commit, a search step); several
// can share one SVG file.

export interface ChartSeries {
  name: string;
  values: readonly number[];
}

export interface Chart {
  title: string;
  /** One label per point, in order. */
  labels: readonly string[];
  /** What the labels are, when they are not self-explanatory (e.g. sizes). */
  xLabel?: string;
  yLabel: string;
  series: readonly ChartSeries[];
}

/**
 * A fenced Mermaid xychart-beta block. Mermaid draws no legend for an xychart, so the block sets
 * the line colours (the SVG's, through an init directive: Mermaid's default palette draws the first
 * line almost white) and the title names each line by its colour.
 */
export function mermaidChart(chart: Chart): string {
  const { low, high } = range(chart);
  const quote = (text: string) => `"${text.replace(/"/g, "'")}"`;
  const names =
    chart.series.length > 1
      ? ` (${chart.series.map((series, index) => `${COLOURS[index % COLOURS.length]!.name}: ${series.name}`).join(', ')})`
      : '';
  const palette = COLOURS.map((colour) => colour.hex).join(', ');
  return [
    '```mermaid',
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette}"}}}}%%`,
    'xychart-beta',
    `  title ${quote(`${chart.title}${names}`)}`,
    `  x-axis ${chart.xLabel === undefined ? '' : `${quote(chart.xLabel)} `}[${chart.labels.map(quote).join(', ')}]`,
    `  y-axis ${quote(chart.yLabel)} ${round(low)} --> ${round(high)}`,
    ...chart.series.map((series) => `  line [${series.values.map(round).join(', ')}]`),
    '```',
  ].join('\n');
}

const WIDTH = 720;
const HEIGHT = 360;
const MARGIN = { left: 64, right: 16, top: 40, bottom: 64 };
const COLOURS = [
  { name: 'blue', hex: '#2563eb' },
  { name: 'green', hex: '#16a34a' },
  { name: 'red', hex: '#dc2626' },
  { name: 'purple', hex: '#9333ea' },
];

/** A standalone SVG line chart with axes, gridlines and a legend; the same input gives the same bytes. */
export function svgChart(chart: Chart): string {
  const { low, high } = range(chart);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const points = chart.labels.length;
  const x = (index: number) => MARGIN.left + (points <= 1 ? plotWidth / 2 : (index * plotWidth) / (points - 1));
  const y = (value: number) => MARGIN.top + plotHeight - ((value - low) / (high - low)) * plotHeight;
  const ticks = Array.from({ length: 5 }, (_, i) => low + ((high - low) * i) / 4);
  const every = Math.max(1, Math.ceil(points / 12));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(chart.title)}</text>`,
    ...ticks.map(
      (tick) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}" stroke="#e5e7eb"/><text x="${MARGIN.left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end">${round(tick)}</text>`,
    ),
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
    ...chart.labels.map((label, index) =>
      index % every === 0
        ? `<text transform="translate(${fixed(x(index))} ${HEIGHT - MARGIN.bottom + 14}) rotate(-30)" text-anchor="end">${escapeXml(label)}</text>`
        : '',
    ),
    chart.xLabel === undefined
      ? ''
      : `<text x="${WIDTH - MARGIN.right}" y="${HEIGHT - 8}" text-anchor="end">${escapeXml(chart.xLabel)}</text>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight}" stroke="#6b7280"/>`,
    ...chart.series.map((series, s) => {
      const colour = COLOURS[s % COLOURS.length]!.hex;
      const coordinates = series.values.map((value, index) => `${fixed(x(index))},${fixed(y(value))}`);
      return [
        `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${coordinates.join(' ')}"/>`,
        ...coordinates.map(
          (point) => `<circle cx="${point.split(',')[0]}" cy="${point.split(',')[1]}" r="3" fill="${colour}"/>`,
        ),
        `<rect x="${MARGIN.left + 8 + s * 160}" y="${HEIGHT - 18}" width="12" height="12" fill="${colour}"/><text x="${MARGIN.left + 24 + s * 160}" y="${HEIGHT - 8}">${escapeXml(series.name)}</text>`,
      ].join('');
    }),
    '</svg>',
  ];
  return `${parts.filter(Boolean).join('\n')}\n`;
}

/** Several charts in one SVG file, one below the other, each drawn as `svgChart` draws it alone. */
export function svgCharts(charts: readonly Chart[]): string {
  const height = HEIGHT * charts.length;
  return (
    [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
      ...charts.map((chart, index) =>
        svgChart(chart)
          .trimEnd()
          .replace('<svg ', `<svg x="0" y="${index * HEIGHT}" `),
      ),
      '</svg>',
    ].join('\n') + '\n'
  );
}

/** The y range: the data's, widened by a tenth each way, never empty. */
function range(chart: Chart): { low: number; high: number } {
  if (chart.series.some((series) => series.values.length !== chart.labels.length))
    throw new RangeError(`every series of "${chart.title}" needs one value per label`);
  const values = chart.series.flatMap((series) => series.values.filter(Number.isFinite));
  if (values.length === 0) return { low: 0, high: 1 };
  const [min, max] = [Math.min(...values), Math.max(...values)];
  const pad = max > min ? (max - min) / 10 : Math.max(Math.abs(max) / 10, 1);
  return { low: min - pad < 0 && min >= 0 ? 0 : min - pad, high: max + pad };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function fixed(value: number): string {
  return value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
