import { mermaidChart, svgChart, svgCharts, type Chart } from '../../src/report/charts.js';

const CHART: Chart = {
  title: 'WER over the last 3 runs',
  labels: ['aaaaaaa', 'bbbbbbb', 'ccccccc'],
  yLabel: 'WER (%)',
  series: [
    { name: 'candidate', values: [7.5, 7.25, 8] },
    { name: 'reference', values: [6.5, 6.5, 6.5] },
  ],
};

test('a Mermaid xychart-beta block with the SVG’s line colours, naming each line by its colour in the title', () => {
  expect(mermaidChart(CHART)).toBe(
    [
      '```mermaid',
      '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#2563eb, #16a34a, #dc2626, #9333ea"}}}}%%',
      'xychart-beta',
      '  title "WER over the last 3 runs (blue: candidate, green: reference)"',
      '  x-axis ["aaaaaaa", "bbbbbbb", "ccccccc"]',
      '  y-axis "WER (%)" 6.35 --> 8.15',
      '  line [7.5, 7.25, 8]',
      '  line [6.5, 6.5, 6.5]',
      '```',
    ].join('\n'),
  );
});

test('an SVG line chart: one polyline and one legend entry per series, escaped text, the same bytes each time', () => {
  const svg = svgChart({ ...CHART, title: 'a <b> & "c"' });
  expect(svg).toBe(svgChart({ ...CHART, title: 'a <b> & "c"' }));
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.match(/<polyline /g)).toHaveLength(2);
  expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
  expect(svg).toContain('>candidate</text>');
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
});

test('a flat series still gets a range, and series must match the labels', () => {
  expect(mermaidChart({ ...CHART, series: [{ name: 'x', values: [0, 0, 0] }] })).toContain('y-axis "WER (%)" 0 --> 1');
  expect(() => svgChart({ ...CHART, series: [{ name: 'x', values: [1] }] })).toThrow(RangeError);
});

test('several charts in one SVG, one below the other, each as svgChart draws it alone', () => {
  const other = { ...CHART, title: 'size' };
  const svg = svgCharts([CHART, other]);
  expect(
    svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="720" viewBox="0 0 720 720">\n'),
  ).toBe(true);
  expect(svg).toContain(svgChart(CHART).trimEnd().replace('<svg ', '<svg x="0" y="0" '));
  expect(svg).toContain(svgChart(other).trimEnd().replace('<svg ', '<svg x="0" y="360" '));
  expect(svg.endsWith('</svg>\n</svg>\n')).toBe(true);
});

test('an x-axis title, when given, goes into the Mermaid block and under the SVG plot', () => {
  const chart = { ...CHART, xLabel: 'size (MiB)' };
  expect(mermaidChart(chart)).toContain('  x-axis "size (MiB)" ["aaaaaaa", "bbbbbbb", "ccccccc"]');
  expect(svgChart(chart)).toContain('<text x="704" y="352" text-anchor="end">size (MiB)</text>');
  expect(svgChart(CHART)).not.toContain('size (MiB)');
});
