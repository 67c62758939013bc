// How tune's result is shown: the charts in order of size with uniform Q4_0 and F16 marked, the
// terminal table and the job summary's section with the overrides to commit, the one-line verdict
// for a search that passed and for one that reached no mix, and tune_results.json without the cost.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  renderTuneMarkdown,
  renderTuneText,
  tuneCharts,
  tuneVerdict,
  writeTuneResults,
  type TuneResult,
} from '../../src/report/tune-report.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

const KIB = 1024;

function sampleResult(): TuneResult {
  return {
    target: 'smallest',
    passed: true,
    quantType: 'q4_0',
    allowTypes: ['q4_0', 'f16'],
    budget: { threshold: 0.5, gateMode: 'point' },
    model: 'org/tiny-stt',
    modelRevision: 'f'.repeat(40),
    engine: 'onnx-ctc',
    calibrationUtterances: 4,
    sensitivity: {
      method: 'exact',
      metric: 'mean-kld',
      grouping: 'layer',
      groups: [
        {
          rank: 1,
          group: 'layers.0.ffn.*',
          tensors: ['layers.0.ffn.up.weight'],
          parameters: 1024,
          bytesSaved: 1472,
          score: 0.002,
          share: 0.8,
        },
        {
          rank: 2,
          group: 'head|weight',
          tensors: ['head|weight'],
          parameters: 1024,
          bytesSaved: 1472,
          score: 0.0005,
          share: 0.2,
        },
      ],
    },
    steps: [
      {
        step: 0,
        type: 'q4_0',
        bytes: 500 * KIB,
        calibration: { deltaWer: 1.5, meanKld: 0.008 },
        confirmation: {
          deltaWer: 1.2,
          interval: [0.1, 2.3],
          meanKld: 0.009,
          passed: false,
          reasons: ['ΔWER +1.20 points exceeds the 0.50-point threshold'],
          utterances: 30,
        },
      },
      {
        step: 1,
        group: 'head|weight',
        from: 'q4_0',
        type: 'f16',
        bytes: 600 * KIB,
        calibration: { deltaWer: 1, meanKld: 0.004 },
      },
      {
        step: 2,
        group: 'layers.0.ffn.*',
        from: 'q4_0',
        type: 'f16',
        bytes: 900 * KIB,
        calibration: { deltaWer: 0, meanKld: 0.001 },
        confirmation: {
          deltaWer: 0.3,
          interval: [-0.4, 1.1],
          meanKld: 0.0012,
          passed: true,
          reasons: ['ΔWER +0.30 points is within the 0.50-point threshold'],
          utterances: 30,
        },
      },
    ],
    chosen: 2,
    overrides: ['layers.0.ffn.*=f16', 'head|weight=f16'],
    size: { bytes: 900 * KIB, uniform: { q4_0: 500 * KIB, f16: 1200 * KIB } },
    uniformF16: { bytes: 1200 * KIB, calibration: { deltaWer: 0, meanKld: 1e-7 } },
    confirmed: {
      deltaWer: 0.3,
      interval: [-0.4, 1.1],
      meanKld: 0.0012,
      passed: true,
      reasons: ['ΔWER +0.30 points is within the 0.50-point threshold'],
      utterances: 30,
    },
    cost: { calibrationPasses: 4, seconds: { sensitivity: 3, calibration: 2, confirmations: 12 } },
  };
}

test('the charts plot the start, every step and uniform F16 in order of size, labelled with their sizes in MiB', () => {
  const [wer, kld] = tuneCharts(sampleResult());
  expect(wer!.labels).toEqual(['0.488 Q4_0', '0.586', '0.879', '1.17 F16']);
  expect(wer!.xLabel).toBe('GGUF size (MiB)');
  expect(wer!.series).toEqual([{ name: 'ΔWER (calibration)', values: [1.5, 1, 0, 0] }]);
  expect(wer!.title).toBe('tune: size against ΔWER on 4 calibration utterances');
  expect(kld!.labels).toEqual(wer!.labels);
  expect(kld!.series[0]!.values).toEqual([0.008, 0.004, 0.001, 1e-7]);
});

test('the terminal table marks the chosen step and each full evaluation, then the answer, its overrides and the cost', () => {
  const text = renderTuneText(sampleResult());
  expect(text).toContain(
    'tune: the smallest mix of q4_0, f16 with ΔWER within 0.50 points (point mode); groups by layer, ranked by exact sensitivity on 4 utterances (onnx-ctc)',
  );
  expect(text).toMatch(
    /\n {3}0 {2}\(every weight\) +q4_0 +500\.0 KiB +41\.7% +\+1\.50 +0\.008 +FAIL ΔWER \+1\.20 \[\+0\.10, \+2\.30\], KLD 0\.009\n/,
  );
  expect(text).toMatch(
    /\n 2 ← {2}layers\.0\.ffn\.\* +q4_0 → f16 +900\.0 KiB +75\.0% +\+0\.00 +0\.001 +PASS ΔWER \+0\.30/,
  );
  expect(text).toMatch(/\n F16 {2}\(uniform, for comparison\) +f16 +1\.17 MiB +100\.0%/);
  expect(text).toContain('tuned: 900.0 KiB, 75.0% of uniform F16 (1.17 MiB), 1.80× uniform Q4_0 (500.0 KiB)');
  expect(text).toContain('\n  layers.0.ffn.*=f16\n  head|weight=f16\n');
  expect(text).toContain('cost: sensitivity 3.0s, 4 calibration passes 2.0s, 2 full evaluations 12s');
});

test('the job summary: the verdict, the escaped table, the overrides as a block to commit, and both Mermaid charts', () => {
  const markdown = renderTuneMarkdown(sampleResult());
  expect(markdown.startsWith('### quantgate tune: ✅ tune: the smallest mix of q4\\_0, f16')).toBe(true);
  expect(markdown).toContain('| 1 | head\\|weight | q4_0 → f16 | 600.0 KiB | 50.0% | +1.00 | 0.004 |  |');
  expect(markdown).toContain(['```text', 'layers.0.ffn.*=f16', 'head|weight=f16', '```'].join('\n'));
  expect(markdown.match(/```mermaid\n/g)).toHaveLength(2);
  expect(markdown).toContain('  x-axis "GGUF size (MiB)" ["0.488 Q4_0", "0.586", "0.879", "1.17 F16"]');
});

test('the verdict line: the tuned size and the gate, or which mix was tried last and what to change', () => {
  expect(tuneVerdict(sampleResult())).toBe(
    'quantgate tune PASS: 900.0 KiB (75.0% of uniform F16) with 2 overrides; ΔWER +0.30 points is within the 0.50-point threshold',
  );
  const failed = sampleResult();
  failed.passed = false;
  failed.steps[2]!.confirmation!.passed = false;
  delete failed.chosen;
  delete failed.confirmed;
  failed.size = { uniform: failed.size.uniform };
  failed.overrides = [];
  expect(tuneVerdict(failed)).toBe(
    'quantgate tune FAIL: no mix of q4_0, f16 reaches the budget: the widest tried, 900.0 KiB, FAIL ΔWER +0.30 [-0.40, +1.10], KLD 0.0012; raise the threshold, or allow a wider type (allow-types)',
  );
  expect(renderTuneMarkdown(failed).startsWith('### quantgate tune: ❌')).toBe(true);
});

test('tune_results.json holds everything but the cost, and the SVG stacks both charts', async () => {
  const dir = await makeTempDir();
  const { resultsPath, chartPath } = await writeTuneResults(sampleResult(), dir);
  const { cost: _cost, ...expected } = sampleResult();
  expect(JSON.parse(await readFile(resultsPath, 'utf8'))).toEqual(expected);
  expect(resultsPath).toBe(join(dir, 'tune_results.json'));
  const svg = await readFile(chartPath, 'utf8');
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="720"')).toBe(true);
  expect(svg.match(/<svg x="0" y="(0|360)" /g)).toEqual(['<svg x="0" y="0" ', '<svg x="0" y="360" ']);
  expect(svg).toContain('>mean KLD (calibration)</text>');
});
