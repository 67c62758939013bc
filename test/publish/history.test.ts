import { isQuantgateError } from '../../src/common/errors.js';
import {
  appendRecord,
  compareWithBase,
  describeBaseComparison,
  formatHistory,
  historyCharts,
  historyFileName,
  historyRecord,
  parseHistory,
  type HistoryRecord,
} from '../../src/publish/history.js';
import { sampleComparison } from '../report/comparison.js';

function record(overrides: Partial<HistoryRecord> = {}, wer: Partial<HistoryRecord['wer']> = {}): HistoryRecord {
  const base = historyRecord(sampleComparison(), {
    time: new Date('2026-12-01T10:00:00Z'),
    commit: 'a'.repeat(40),
    branch: 'main',
    runId: '1',
    quantization: { type: 'q4_0', shardFormat: 'bytes', keep: [], skip: [], tensorTypes: [] },
    sizes: { sourceBytes: 4_000_000, outputBytes: 1_000_000 },
  });
  return { ...base, ...overrides, wer: { ...base.wer, ...wer } };
}

test('a record holds the run’s model, dataset, sizes, WERs, device and stage times', () => {
  const comparison = sampleComparison();
  const made = record();
  expect(made).toMatchObject({
    version: 1,
    time: '2026-12-01T10:00:00.000Z',
    commit: 'a'.repeat(40),
    runId: '1',
    model: { id: 'kyutai/stt-1b-en_fr' },
    dataset: {
      name: 'openslr/librispeech_asr',
      revision: comparison.dataset.revision,
      split: 'test',
      config: 'clean',
      utterances: comparison.utteranceCount,
      words: comparison.wordCount,
    },
    wer: {
      reference: comparison.reference.werPercent,
      candidate: comparison.candidate.werPercent,
      delta: comparison.delta.points,
      interval: [comparison.delta.low, comparison.delta.high],
    },
    device: 'cpu',
    stageSeconds: { transcribe: 12.5 },
  });
});

test('the file reads back what was written; a bad line is one error naming it', () => {
  const records = [record(), record({ runId: '2', commit: 'b'.repeat(40) })];
  const text = formatHistory(records);
  expect(parseHistory(`${text}\n`, 'h.jsonl')).toEqual(records);
  for (const [bad, why] of [
    ['{', 'is not JSON'],
    ['{"version":2}', 'version 2 is not 1'],
    ['[]', 'not an object'],
    [JSON.stringify({ ...records[0], wer: {} }), 'no WER figures'],
  ] as const) {
    let error: unknown;
    try {
      parseHistory(`${text}${bad}\n`, 'h.jsonl');
    } catch (caught) {
      error = caught;
    }
    expect(isQuantgateError(error)).toBe(true);
    expect((error as Error).message).toContain(
      `h.jsonl line 3 ${bad === '{' ? '' : 'is not a quantgate history record ('}`,
    );
    expect((error as Error).message).toContain(why);
  }
});

test('a run id is never appended twice', () => {
  const records = [record()];
  expect(appendRecord(records, record())).toBeUndefined();
  expect(appendRecord(records, record({ runId: '2' }))).toHaveLength(2);
  expect(appendRecord(records, record({ runId: undefined }))).toHaveLength(2);
});

test('the head is compared with the base branch’s latest record', () => {
  const history = [
    record({ runId: '1', commit: '1'.repeat(40) }, { candidate: 9 }),
    record(
      { runId: '2', commit: '2'.repeat(40), sizes: { sourceBytes: 4e6, outputBytes: 1_100_000 } },
      { reference: 5, candidate: 7, delta: 2 },
    ),
  ];
  const head = record(
    { runId: '3', sizes: { sourceBytes: 4e6, outputBytes: 1_000_000 } },
    { reference: 5, candidate: 6.5, delta: 1.5 },
  );
  const comparison = compareWithBase(head, history);
  expect(comparison).toEqual({
    comparable: true,
    base: history[1],
    referenceWer: 0,
    candidateWer: -0.5,
    deltaWer: -0.5,
    outputBytes: -100_000,
  });
  expect(describeBaseComparison(comparison, head)).toBe(
    'base branch (2222222): candidate WER 7.00% → 6.50% (-0.50 points)',
  );
});

test.each<[string, Partial<HistoryRecord>, string]>([
  [
    'model revision',
    { model: { id: 'kyutai/stt-1b-en_fr', revision: 'new' } },
    'not comparable: model kyutai/stt-1b-en_fr@new against kyutai/stt-1b-en_fr@local',
  ],
  [
    'dataset revision',
    { dataset: { ...record().dataset, revision: 'ffffffffff' } },
    'not comparable: dataset openslr/librispeech_asr test @fffffff against openslr/librispeech_asr test @',
  ],
  ['device', { device: 'cuda' }, 'not comparable: device cuda against cpu'],
])('a base of another %s is labelled not comparable', (_field, change, reason) => {
  const comparison = compareWithBase(record({ runId: '9', ...change }), [record()]);
  expect(comparison.comparable).toBe(false);
  expect((comparison as { reason: string }).reason.startsWith(reason)).toBe(true);
});

test('without a base record there is nothing to compare', () => {
  expect(compareWithBase(record(), [])).toEqual({
    comparable: false,
    reason: 'the base branch has no recorded run yet',
  });
});

test('one file per model and dataset, with a safe name; charts of the last N records', () => {
  expect(historyFileName('kyutai/stt-1b-en_fr', 'openslr/librispeech_asr')).toBe(
    'kyutai--stt-1b-en_fr__openslr--librispeech_asr.jsonl',
  );
  const records = Array.from({ length: 25 }, (_, i) =>
    record({ runId: String(i), commit: `${i}`.padStart(7, '0') + 'f'.repeat(33) }, { candidate: 5 + i / 10 }),
  );
  const { wer, size } = historyCharts(records, 20);
  expect(wer.labels).toHaveLength(20);
  expect(wer.labels[0]).toBe('0000005');
  expect(wer.series.map((series) => series.name)).toEqual(['candidate', 'reference']);
  expect(wer.series[0]!.values[19]).toBeCloseTo(7.4, 10);
  expect(size.series[0]!.values[0]).toBeCloseTo(1_000_000 / 2 ** 20, 10);
});
