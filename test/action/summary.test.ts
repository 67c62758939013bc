import { renderJobSummary } from '../../src/action/summary.js';
import { baseRegression, verdictOf } from '../../src/action/verdict.js';
import { compareWithBase, historyRecord, type HistoryRecord } from '../../src/publish/history.js';
import type { HistorySection } from '../../src/report/history-report.js';
import { mergePartialResults } from '../../src/scoring/merge.js';
import { planTensors } from '../../src/quant/plan.js';
import { renderMarkdownSummary } from '../../src/report/markdown.js';
import { sampleComparison } from '../report/comparison.js';

const plan = planTensors(
  [
    { name: 'layers.0.attn.weight', dtype: 'BF16', shape: [256, 256] },
    { name: 'layers.0.norm.weight', dtype: 'F32', shape: [256] },
  ],
  { type: 'q4_0' },
);

describe('renderJobSummary', () => {
  test('the verdict table, data set and worst utterances, then the run and its timings', () => {
    const comparison = sampleComparison();
    comparison.run.modelRevision = 'f'.repeat(40);
    const summary = renderJobSummary({
      comparison,
      plan,
      links: [['artifact', 'https://github.com/o/r/actions/runs/1/artifacts/2']],
    });
    expect(summary.startsWith(renderMarkdownSummary(comparison).trimEnd())).toBe(true);
    expect(summary).toContain(
      [
        '#### Run',
        '',
        '|  |  |',
        '| :--- | :--- |',
        `| model | \`kyutai/stt-1b-en_fr\` @ \`${'f'.repeat(40)}\` |`,
        '| engine | fake on cpu |',
        '| quantization | Q4_0: 2 tensors in the output, 0 left out; Q4_0: 1 tensors, 36.0 KiB; F32: 1 tensors, 1.00 KiB<br>size 129.0 KiB → 37.0 KiB (3.49× smaller) |',
        '| artifact | https://github.com/o/r/actions/runs/1/artifacts/2 |',
      ].join('\n'),
    );
    expect(summary).toContain(
      ['#### Timings', '', '|  | transcribe | total |', '| :--- | ---: | ---: |', '| this job | 13s | 13s |'].join(
        '\n',
      ),
    );
    expect(summary).not.toContain('Partial results');
  });

  test("a shard's partial results say the merge decides", () => {
    const summary = renderJobSummary({ comparison: sampleComparison(), partialShard: '2/4' });
    expect(
      summary.startsWith(
        '> [!NOTE]\n> Partial results of shard 2/4: the gate is decided when the merge job combines every shard.\n\n### quantgate WER gate',
      ),
    ).toBe(true);
    expect(summary).not.toContain('| quantization |');
  });

  test('merged results time each shard', () => {
    const part = (shard: string, seconds: Record<string, number>) => {
      const comparison = sampleComparison();
      const half = shard === '1/2' ? comparison.utterances.slice(0, 3) : comparison.utterances.slice(3);
      return {
        source: shard,
        comparison: {
          ...comparison,
          utterances: half,
          droppedEmptyIds: [],
          failedUtterances: [],
          run: { ...comparison.run, shard, stageSeconds: seconds },
        },
      };
    };
    const merged = mergePartialResults([
      part('1/2', { load: 2, transcribe: 30 }),
      part('2/2', { load: 3, transcribe: 75 }),
    ]);
    expect(renderJobSummary({ comparison: merged })).toContain(
      [
        '|  | load | transcribe | total |',
        '| :--- | ---: | ---: | ---: |',
        '| shard 1/2 (cpu) | 2.0s | 30s | 32s |',
        '| shard 2/2 (cpu) | 3.0s | 1m15s | 1m18s |',
      ].join('\n'),
    );
  });

  test('the history section comes after the run and before the timings, in the summary and so the PR comment', () => {
    const summary = renderJobSummary({ comparison: sampleComparison(), plan, history: section(7) });
    const [run, history, charts, timings] = [
      '#### Run',
      '#### Against the base branch',
      '#### History',
      '#### Timings',
    ].map((heading) => summary.indexOf(heading));
    expect(run).toBeGreaterThan(0);
    expect(history).toBeGreaterThan(run!);
    expect(charts).toBeGreaterThan(history!);
    expect(timings).toBeGreaterThan(charts!);
    expect(summary).toContain('| candidate WER | 6.00% |');
    expect(summary).toContain('```mermaid\n%%{init: ');
  });
});

/** A head whose candidate WER is `candidate`, against a base record at 6%. */
function section(candidate: number, device = 'cpu'): HistorySection {
  const record = (commit: string, wer: number, on: string): HistoryRecord => {
    const made = historyRecord(sampleComparison(), {
      time: new Date('2026-12-01T10:00:00Z'),
      commit: commit.repeat(40),
      quantization: { type: 'q4_0', shardFormat: 'bytes', keep: [], skip: [], tensorTypes: [] },
      sizes: { sourceBytes: 4_000_000, outputBytes: 1_000_000 },
    });
    return { ...made, device: on, wer: { ...made.wer, candidate: wer } };
  };
  const base = record('b', 6, 'cpu');
  const head = record('a', candidate, device);
  return { head, base: compareWithBase(head, [base]), records: [base, head], last: 20 };
}

describe('max-regression-vs-base', () => {
  const passing = {
    passed: true,
    message: 'quantgate WER gate PASS: ΔWER +0.10 points is within the 2.00-point threshold',
  };

  test('a head more than the limit worse than the base fails, naming both WERs', () => {
    const failing = verdictOf(sampleComparison());
    expect(failing.passed).toBe(false);
    expect(baseRegression(failing, section(9), 0.5)).toBe(failing);
    expect(baseRegression(passing, section(7), 0.5)).toEqual({
      passed: false,
      message:
        "quantgate base-branch check FAIL: candidate WER 7.00% is +1.00 points against the base branch's 6.00% (commit bbbbbbb), more than max-regression-vs-base 0.50",
    });
  });

  test('within the limit, unset, or against a base that is not comparable, the verdict stands', () => {
    expect(baseRegression(passing, section(6.4), 0.5)).toBe(passing);
    expect(baseRegression(passing, section(9), undefined)).toBe(passing);
    expect(baseRegression(passing, section(9, 'cuda'), 0.5)).toBe(passing);
    expect(baseRegression(passing, undefined, 0.5)).toBe(passing);
  });
});
