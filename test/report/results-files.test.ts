import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import {
  RESULTS_SCHEMA_VERSION,
  formatEvalResultsText,
  readEvalResults,
  writeEvalResults,
} from '../../src/report/results-files.js';
import type { KldFigures } from '../../src/scoring/types.js';
import { fixture, makeTempDir, removeTempDirs } from '../helpers/paths.js';
import { withTokenMetrics } from '../scoring/token-measures.js';
import { sampleComparison } from './comparison.js';

/** The sample with token metrics and both token gates, the reference's results reused. */
function measuredComparison(): ReturnType<typeof sampleComparison> {
  const comparison = withTokenMetrics(sampleComparison(), {
    gates: { maxKld: 0.2, minTop1Agreement: 0.9 },
    bootstrap: { resamples: 1000, seed: 1 },
  });
  return { ...comparison, run: { ...comparison.run, reused: { reference: true, candidate: false } } };
}

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

  test('with token metrics: the KLD figures, the reuse, each gate on its own line, the verdict over all, and the utterances of largest KLD', () => {
    expect(formatEvalResultsText(measuredComparison())).toBe(
      [
        'model:                   kyutai/stt-1b-en_fr',
        'engine:                  fake on cpu',
        'reuse:                   reference: reused results, candidate: evaluated',
        'dataset:                 openslr/librispeech_asr (clean) split test revision 71ba8e1b8d37a0f4b5bb1b04a7b32c2bbcd5d1e1',
        'samples:                 5 utterances, 29 words (1 empty reference dropped, 1 failed)',
        'normalizer:              none',
        'reference WER:           3.45% (S 1, D 0, I 0, hits 28)',
        'candidate WER:           17.24% (S 4, D 0, I 1, hits 25)',
        'ΔWER:                    +13.79 points',
        '95% interval:            [-6.91, +34.62] points (paired bootstrap, 1,000 resamples, seed 1)',
        'P(candidate worse):      0.888',
        'mean KLD:                0.1176 nats, 95% interval [0.1059, 0.1283] (bootstrap over utterances)',
        'KLD median:              0.125 nats',
        'KLD p99:                 0.2438 nats',
        'KLD max:                 0.25 nats',
        'top-1 agreement:         80.95%',
        'perplexity ratio:        1.0605',
        'token steps:             21',
        'threshold:               2.00 points, point mode',
        'WER gate:                FAIL: ΔWER +13.79 points exceeds the 2.00-point threshold',
        'max-kld gate:            PASS: the mean KLD, 0.1176 nats, is within the 0.2-nat limit',
        'min-top1-agreement gate: FAIL: the top-1 agreement, 80.95%, is below the 90.00% minimum',
        'verdict:                 FAIL: the WER and min-top1-agreement gates fail',
        '',
        'Utterances with the largest KLD (5 of 5 measured):',
        '  id         KLD (nats)  same top-1  Δ errors',
        '  1089-0004      0.1354      66.67%        -1',
        '  1089-0001       0.125     100.00%        +3',
        '  1089-0002       0.125      80.00%        +1',
        '  1089-0003      0.1094      83.33%         0',
        '  1089-0000     0.09375      66.67%        +1',
        '',
      ].join('\n'),
    );
  });

  test('the verdict line is the verdict over every gate: a failing token gate fails a run whose WER gate passes', () => {
    const comparison = measuredComparison();
    const passing = { ...comparison, gate: { ...comparison.gate, verdict: 'pass' as const, reason: 'ΔWER within' } };
    const lines = formatEvalResultsText(passing).split('\n');
    expect(lines).toContain('WER gate:                PASS: ΔWER within');
    expect(lines).toContain('verdict:                 FAIL: the min-top1-agreement gate fails');
    const allPass = {
      ...passing,
      tokenGates: passing.tokenGates!.map((gate) => ({ ...gate, verdict: 'pass' as const })),
    };
    expect(formatEvalResultsText(allPass)).toContain(
      'verdict:                 PASS: the WER, max-kld and min-top1-agreement gates pass\n',
    );
  });

  test('token metrics that are not available say why; a merged median and p99 say they were not kept', () => {
    const unavailable = formatEvalResultsText({
      ...sampleComparison(),
      kld: { available: false, reason: 'the command engine sees no output distributions' },
    });
    expect(unavailable).toContain(
      '\ntoken metrics:      not available (the command engine sees no output distributions)\nthreshold:',
    );
    expect(unavailable).toContain('\nverdict:            FAIL: ΔWER +13.79 points exceeds the 2.00-point threshold\n');
    const measured = measuredComparison();
    const merged = formatEvalResultsText({
      ...measured,
      kld: { ...(measured.kld as KldFigures), median: null, p99: null },
    });
    expect(merged).toContain('KLD median:              — (not kept when shards are merged)\n');
    expect(merged).toContain('KLD p99:                 — (not kept when shards are merged)\n');
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

  test('the token metrics keep their names in the file: the writer reproduces the committed file and the reader reads it', async () => {
    const dir = await makeTempDir();
    const { jsonPath } = await writeEvalResults(dir, measuredComparison());
    const committed = fixture('report', 'eval_results.v1-kld.json');
    expect(await readFile(jsonPath, 'utf8')).toBe(await readFile(committed, 'utf8'));
    expect(await readEvalResults(committed)).toEqual(measuredComparison());
    const document = JSON.parse(await readFile(committed, 'utf8'));
    expect(Object.keys(document.kld)).toEqual([
      'available',
      'mean',
      'interval',
      'median',
      'p99',
      'max',
      'top1Agreement',
      'perplexityRatio',
      'steps',
    ]);
    expect(document.utterances[0]).toMatchObject({
      kld: expect.any(Number),
      top1Agreement: expect.any(Number),
      tokenSteps: expect.any(Number),
    });
  });

  test('the reader rejects malformed token metrics in one line naming the field', async () => {
    const dir = await makeTempDir();
    const good = JSON.parse(await readFile(fixture('report', 'eval_results.v1-kld.json'), 'utf8'));
    const utterance = good.utterances[0];
    const cases: [unknown, string][] = [
      [{ ...good, kld: 0.1 }, '"kld" is not an object'],
      [{ ...good, kld: { ...good.kld, available: 'yes' } }, '"kld.available" is not true or false'],
      [{ ...good, kld: { available: false } }, '"kld.reason" is not a non-empty string'],
      [{ ...good, kld: { ...good.kld, mean: -0.1 } }, '"kld.mean" is not a number ≥ 0'],
      [{ ...good, kld: { ...good.kld, mean: undefined } }, '"kld.mean" is missing'],
      [
        { ...good, kld: { ...good.kld, interval: [0.2, 0.1] } },
        '"kld.interval" is not a pair [low, high] of numbers ≥ 0',
      ],
      [{ ...good, kld: { ...good.kld, median: 'n/a' } }, '"kld.median" is not a number ≥ 0 or null'],
      [{ ...good, kld: { ...good.kld, top1Agreement: 98 } }, '"kld.top1Agreement" is not a fraction from 0 to 1'],
      [{ ...good, kld: { ...good.kld, perplexityRatio: null } }, '"kld.perplexityRatio" is not a number > 0'],
      [{ ...good, kld: { ...good.kld, steps: 2.5 } }, '"kld.steps" is not a whole number ≥ 0'],
      [{ ...good, tokenGates: {} }, '"tokenGates" is not a list'],
      [
        { ...good, tokenGates: [good.tokenGates[0], { ...good.tokenGates[1], verdict: 'maybe' }] },
        '"tokenGates[1].verdict" is not "pass" or "fail"',
      ],
      [
        { ...good, tokenGates: [{ ...good.tokenGates[0], gate: 'max-wer' }] },
        '"tokenGates[0].gate" is not "max-kld" or',
      ],
      [
        { ...good, run: { ...good.run, reused: { reference: 'yes' } } },
        '"run.reused" is not an object of two booleans',
      ],
      [
        { ...good, utterances: [{ ...utterance, top1Agreement: 1.5 }, ...good.utterances.slice(1)] },
        'utterance "1089-0000": "top1Agreement" is not a fraction from 0 to 1',
      ],
      [
        { ...good, utterances: [...good.utterances.slice(0, 4), { ...good.utterances[4], tokenSteps: -1 }] },
        'utterance "1089-0004": "tokenSteps" is not a whole number ≥ 0',
      ],
    ];
    for (const [index, [document, message]] of cases.entries()) {
      const path = join(dir, `case-${index}.json`);
      await writeFile(path, JSON.stringify(document));
      const read = readEvalResults(path);
      await expect(read).rejects.toBeInstanceOf(QuantgateError);
      await expect(readEvalResults(path)).rejects.toThrow(`${path}: ${message}`);
      await expect(readEvalResults(path)).rejects.not.toThrow(/\n/);
    }
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
