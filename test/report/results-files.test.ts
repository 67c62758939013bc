import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import {
  RESULTS_SCHEMA_VERSION,
  formatEvalResultsText,
  readEvalResults,
  writeEvalResults,
} from '../../src/report/results-files.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { sampleComparison } from './comparison.js';

afterAll(removeTempDirs);

describe('eval_results files', () => {
  test('the text file states model, engine and device, data set, both WERs with S/D/I, ΔWER, interval, threshold, mode and verdict', () => {
    expect(formatEvalResultsText(sampleComparison())).toBe(
      [
        'model:              kyutai/stt-1b-en_fr',
        'engine:             fake on cpu',
        'dataset:            openslr/librispeech_asr (clean) split test revision 71ba8e1b8d37a0f4b5bb1b04a7b32c2bbcd5d1e1',
        'samples:            5 utterances, 29 words (1 empty reference dropped, 1 failed)',
        'normalizer:         none',
        'reference WER:      3.45% (S 1, D 0, I 0, hits 28)',
        'candidate WER:      17.24% (S 4, D 0, I 1, hits 25)',
        'ΔWER:               +13.79 points',
        '95% interval:       [-6.91, +34.62] points (paired bootstrap, 1,000 resamples, seed 1)',
        'P(candidate worse): 0.888',
        'threshold:          2.00 points, point mode',
        'verdict:            FAIL: ΔWER +13.79 points exceeds the 2.00-point threshold',
        '',
      ].join('\n'),
    );
  });

  test('both files are written whole into the folder, nothing else is left, and the JSON reads back unchanged', async () => {
    const dir = join(await makeTempDir(), 'results');
    const comparison = sampleComparison();
    const { textPath, jsonPath } = await writeEvalResults(dir, comparison);
    expect((await readdir(dir)).sort()).toEqual(['eval_results.json', 'eval_results.txt']);
    expect(await readFile(textPath, 'utf8')).toBe(formatEvalResultsText(comparison));
    expect(JSON.parse(await readFile(jsonPath, 'utf8')).schemaVersion).toBe(RESULTS_SCHEMA_VERSION);
    expect(await readEvalResults(jsonPath)).toEqual(comparison);
  });

  test('schema 1 stays stable: the writer reproduces the committed file and the reader reads it', async () => {
    const dir = await makeTempDir();
    const { jsonPath } = await writeEvalResults(dir, sampleComparison());
    const committed = fixture('report', 'eval_results.v1.json');
    expect(await readFile(jsonPath, 'utf8')).toBe(await readFile(committed, 'utf8'));
    expect(await readEvalResults(committed)).toEqual(sampleComparison());
  });

  test('the reader rejects other schema versions, missing fields and broken JSON with one-line errors', async () => {
    const dir = await makeTempDir();
    const good = JSON.parse(await readFile(fixture('report', 'eval_results.v1.json'), 'utf8'));
    const cases: [string, unknown, RegExp][] = [
      ['v2.json', { ...good, schemaVersion: 2 }, /schema version 2 is not the supported 1/],
      ['no-gate.json', { ...good, gate: undefined }, /"gate" lacks its mode, threshold or verdict/],
      [
        'no-counts.json',
        { ...good, utterances: [{ ...good.utterances[0], candidate: { text: 'x', normalized: 'x' } }] },
        /utterance "1089-0000" lacks the candidate system's text or error counts/,
      ],
      ['list.json', [good], /not a JSON object/],
    ];
    for (const [name, document, message] of cases) {
      const path = join(dir, name);
      await writeFile(path, JSON.stringify(document));
      await expect(readEvalResults(path)).rejects.toBeInstanceOf(QuantgateError);
      await expect(readEvalResults(path)).rejects.toThrow(message);
    }
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"schemaVersion": 1,');
    await expect(readEvalResults(broken)).rejects.toThrow(
      new RegExp(`^cannot read ${broken} \\(.*\\); give an eval_results.json written by quantgate$`),
    );
  });

  test('an unwritable output folder is a one-line error', async () => {
    const blocker = join(await makeTempDir(), 'file');
    await writeFile(blocker, '');
    await expect(writeEvalResults(join(blocker, 'results'), sampleComparison())).rejects.toThrow(
      /^cannot create output folder .*; choose a writable --out-dir$/,
    );
  });
});
