// Renders one of the history's Mermaid charts the way GitHub shows it, in a real browser: the
// xychart-beta block that the job summary and the PR comment carry, drawn by Mermaid from npm in
// headless Chromium, saved as a PNG screenshot. It checks by eye what the unit tests check as text;
// CI does not run it (it needs Chromium: `apt-get install chromium` on Debian).
//
//   npm run build && node scripts/render-chart.mjs [history.jsonl] [out.png] [wer|size]
//
// Defaults: the test fixture history, docs/history-chart.png, the WER chart.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const historyPath = resolve(
  process.argv[2] ?? join(root, 'test', 'fixtures', 'history', 'kyutai--stt-1b-en_fr__openslr--librispeech_asr.jsonl'),
);
const outPath = resolve(process.argv[3] ?? join(root, 'docs', 'history-chart.png'));
const which = process.argv[4] ?? 'wer';
const browser = process.env.CHROMIUM ?? 'chromium';

// The compiled modules (npm run build), so the chart is exactly the one the action writes.
const { historyCharts, parseHistory } = await import(pathToFileURL(join(root, 'lib', 'publish', 'history.js')).href);
const { mermaidChart } = await import(pathToFileURL(join(root, 'lib', 'report', 'charts.js')).href);

const records = parseHistory(await readFile(historyPath, 'utf8'), historyPath);
const charts = historyCharts(records, 20);
if (!(which in charts)) throw new Error(`the chart is wer or size, not ${which}`);
// The fenced block without its fences: what GitHub hands to Mermaid.
const source = mermaidChart(charts[which]).split('\n').slice(1, -1).join('\n');
const mermaid = await readFile(join(root, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js'), 'utf8');

const page = `<!doctype html>
<html><head><meta charset="utf-8"><style>body { margin: 16px; background: #fff; font-family: sans-serif; }</style></head>
<body><pre class="mermaid">${source.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>
<script>${mermaid}</script>
<script>mermaid.initialize({ startOnLoad: false, theme: 'default' });
mermaid.run().then(() => { document.title = 'rendered'; }, (error) => { document.body.textContent = 'Mermaid failed: ' + error; });</script>
</body></html>`;

const work = await mkdtemp(join(tmpdir(), 'quantgate-chart-'));
try {
  const html = join(work, 'chart.html');
  await writeFile(html, page);
  await promisify(execFile)(browser, [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    `--user-data-dir=${join(work, 'profile')}`,
    '--window-size=760,540',
    // Virtual time lets Mermaid finish its asynchronous layout before the screenshot is taken.
    '--virtual-time-budget=10000',
    `--screenshot=${outPath}`,
    pathToFileURL(html).href,
  ]);
  const { size } = await stat(outPath);
  console.log(`wrote ${outPath} (${size} bytes): ${charts[which].title}, ${records.length} runs`);
} finally {
  await rm(work, { recursive: true, force: true });
}
