// `quantgate history` on a fixture history: the table of the last runs, the SVG chart, and one-line
// errors for a missing or broken file.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_OK } from '../../../src/cli/command.js';
import { runCli } from '../../helpers/cli.js';
import { fixture, makeTempDir, removeTempDirs } from '../../helpers/paths.js';

const FILE = fixture('history', 'kyutai--stt-1b-en_fr__openslr--librispeech_asr.jsonl');

afterAll(removeTempDirs);

test('prints the runs oldest first, one line each, with both WERs, ΔWER and the size', async () => {
  const run = await runCli(['history', '--file', FILE]);
  expect(run.code).toBe(EXIT_OK);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(5);
  expect(lines[0]).toMatch(/^time +commit +model revision +reference +candidate +ΔWER +interval +size +device$/);
  expect(lines[1]).toMatch(
    /^2026-11-02T09:14:03Z +c0ffee1 +3a8ef1c +5\.84% +6\.31% +\+0\.47 +\[\+0\.12, \+0\.83\] +393\.8 MiB +cpu$/,
  );
  expect(lines[4]).toContain('f3a4b5c');
});

test('--last keeps the latest runs', async () => {
  const run = await runCli(['history', '--file', FILE, '--last', '2']);
  expect(run.code).toBe(EXIT_OK);
  expect(
    run.stdout
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/ +/)[1]),
  ).toEqual(['e2f3a4b', 'f3a4b5c']);
});

test('--svg draws the WER chart, --chart size the size chart', async () => {
  const dir = await makeTempDir();
  const svg = join(dir, 'wer.svg');
  const run = await runCli(['history', '--file', FILE, '--svg', svg, '--last', '3']);
  expect(run.code).toBe(EXIT_OK);
  expect(run.stdout).toBe(`wrote ${svg}: 3 runs\n`);
  const text = await readFile(svg, 'utf8');
  expect(text).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  expect(text).toContain('WER over the last 3 runs');
  expect(text).toContain('>candidate</text>');
  expect(text).toContain('>d1e2f3a</text>');
  expect(text).not.toContain('>c0ffee1</text>');
  const size = join(dir, 'size.svg');
  expect((await runCli(['history', '--file', FILE, '--svg', size, '--chart', 'size'])).code).toBe(EXIT_OK);
  expect(await readFile(size, 'utf8')).toContain('Quantized size over the last 4 runs');
});

test.each([
  [['--file', 'no/such.jsonl'], /^cannot read the history file no\/such\.jsonl \(.+\); give a history \.jsonl$/],
  [['--file', FILE, '--last', '0'], /^--last must be an integer ≥ 1, got "0"$/],
  [['--file', FILE, '--chart', 'size'], /^--chart picks the chart --svg draws; give --svg <out\.svg> with it$/],
  [[], /^--file is required; see --help$/],
])('%j is one line and exit code 2', async (args, message) => {
  const run = await runCli(['history', ...args]);
  expect(run.code).toBe(EXIT_ERROR);
  expect(run.stderr.replace(/^quantgate history: /, '').trimEnd()).toMatch(message);
});

test('a broken line is named, and nothing is written', async () => {
  const dir = await makeTempDir();
  const broken = join(dir, 'h.jsonl');
  await writeFile(broken, `${await readFile(FILE, 'utf8')}{"version":1}\n`);
  const run = await runCli(['history', '--file', broken, '--svg', join(dir, 'out.svg')]);
  expect(run.code).toBe(EXIT_ERROR);
  expect(run.stderr).toBe(
    `quantgate history: ${broken} line 5 is not a quantgate history record (no time or commit); repair or remove that line of the history\n`,
  );
  await expect(readFile(join(dir, 'out.svg'))).rejects.toThrow();
});
