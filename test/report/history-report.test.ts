// The history section of the job summary and PR comment, from the fixture history: the head against
// the base branch's latest record with the Δ of each figure, the "not comparable" label with its
// reason, and the Mermaid charts of the last runs.

import { readFile } from 'node:fs/promises';
import { compareWithBase, parseHistory, type HistoryRecord } from '../../src/publish/history.js';
import { renderHistorySection } from '../../src/report/history-report.js';
import { fixture } from '../helpers/paths.js';

const FILE = fixture('history', 'kyutai--stt-1b-en_fr__openslr--librispeech_asr.jsonl');
let records: HistoryRecord[];

beforeAll(async () => {
  records = parseHistory(await readFile(FILE, 'utf8'), FILE);
});

/** A pull request's head: the latest record's settings, with other figures. */
function head(changes: Partial<HistoryRecord> = {}): HistoryRecord {
  const latest = records.at(-1)!;
  return {
    ...latest,
    commit: 'abcdef0123456789abcdef0123456789abcdef01',
    runId: '160',
    wer: { reference: 5.84, candidate: 6.9, delta: 1.06, interval: [0.61, 1.52] },
    sizes: { sourceBytes: latest.sizes.sourceBytes, outputBytes: 404_750_336 },
    ...changes,
  };
}

test('a comparable head: each WER, ΔWER and the size against the base, with their Δ', () => {
  const pr = head();
  const section = renderHistorySection({
    head: pr,
    base: compareWithBase(pr, records),
    records: [...records, pr],
    last: 20,
  });
  expect(section).toContain(
    [
      '#### Against the base branch',
      '',
      '|  | base (f3a4b5c) | head (abcdef0) | Δ |',
      '| :--- | ---: | ---: | ---: |',
      '| reference WER | 5.84% | 5.84% | +0.00 points |',
      '| candidate WER | 6.12% | 6.90% | +0.78 points |',
      '| ΔWER | +0.28 | +1.06 | +0.78 points |',
      '| size | 396.0 MiB | 386.0 MiB | -10.0 MiB |',
    ].join('\n'),
  );
});

test.each<[string, Partial<HistoryRecord>, string]>([
  [
    'another model revision',
    { model: { id: 'kyutai/stt-1b-en_fr', revision: '9'.repeat(40) } },
    `Not comparable: model kyutai/stt-1b-en\\_fr@${'9'.repeat(40)} against kyutai/stt-1b-en\\_fr@3a8ef1c2d4b5a69708f1e2d3c4b5a6978f1e2d3c (latest record: f3a4b5c).`,
  ],
  [
    'another dataset revision',
    { dataset: { revision: '0123456789' } as HistoryRecord['dataset'] },
    'Not comparable: dataset openslr/librispeech\\_asr test.clean @0123456 against openslr/librispeech\\_asr test.clean @71cacbf (latest record: f3a4b5c).',
  ],
  ['another device', { device: 'cuda' }, 'Not comparable: device cuda against cpu (latest record: f3a4b5c).'],
])('a head on %s is labelled not comparable, with the reason', (_case, changes, label) => {
  const pr = head({ ...changes, dataset: { ...records.at(-1)!.dataset, ...changes.dataset } });
  const section = renderHistorySection({ head: pr, base: compareWithBase(pr, records), records, last: 20 });
  expect(section).toContain(`#### Against the base branch\n\n${label}\n`);
  expect(section).not.toContain('| candidate WER |');
});

test('without records: nothing to compare and no charts', () => {
  const pr = head();
  const section = renderHistorySection({ head: pr, base: compareWithBase(pr, []), records: [], last: 20 });
  expect(section).toBe('#### Against the base branch\n\nThe base branch has no recorded run yet.');
});

test('the charts plot both WERs and the size over the last N runs, labelled by commit', () => {
  const pr = head();
  const section = renderHistorySection({
    head: pr,
    base: compareWithBase(pr, records),
    records: [...records, pr],
    last: 3,
  });
  expect(section).toContain(
    [
      '#### History',
      '',
      '```mermaid',
      '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#2563eb, #16a34a, #dc2626, #9333ea"}}}}%%',
      'xychart-beta',
      '  title "WER over the last 3 runs (blue: candidate, green: reference)"',
      '  x-axis ["e2f3a4b", "f3a4b5c", "abcdef0"]',
    ].join('\n'),
  );
  expect(section).toContain('  line [6.05, 6.12, 6.9]\n  line [5.84, 5.84, 5.84]\n```');
  expect(section).toContain('  title "Quantized size over the last 3 runs"');
  expect(section).toMatch(/ {2}line \[396, 396, 386\]\n```$/);
});
