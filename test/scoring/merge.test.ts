import { QuantgateError } from '../../src/common/errors.js';
import type { Manifest } from '../../src/formats/gguf/manifest.js';
import { mergePartialResults, type PartialResults } from '../../src/scoring/merge.js';
import { compareSystems, type ComparisonInput } from '../../src/scoring/compare.js';
import type { RunInfo } from '../../src/scoring/types.js';

const normalizer = { name: 'basic', normalize: (text: string) => text.toLowerCase().trim() };
const dataset = { name: 'openslr/librispeech_asr', split: 'test.clean', revision: 'a'.repeat(40) };
const bootstrap = { resamples: 500, seed: 7 };
const RUN: RunInfo = { modelId: 'kyutai/stt-1b-en_fr', modelRevision: 'b'.repeat(40), engine: 'onnx-ctc' };

/** 30 utterances; the candidate loses a word on every third, the reference on every seventh. */
const inputs: ComparisonInput[] = Array.from({ length: 30 }, (_, index) => {
  const transcript = `utterance number ${index} has a few more words`;
  const drop = (text: string) => text.split(' ').slice(0, -1).join(' ');
  return {
    id: `u${String(index).padStart(2, '0')}`,
    transcript,
    reference: { text: index % 7 === 0 ? drop(transcript) : transcript },
    candidate: { text: index % 3 === 0 ? drop(transcript) : transcript },
  };
});

const manifest: Manifest = {
  manifestVersion: 1,
  format: 'bytes',
  files: [{ path: 'm-shards/shard-aa', size: 10, sha256: 'c'.repeat(64) }],
  totalSize: 10,
  tensorCount: 3,
  source: {},
  tool: { name: 'quantgate', version: '0.1.0' },
};

/** Shard `index` (from 1) of `count`, cut as the datasets stage cuts them. */
function shard(index: number, count: number, run: RunInfo = {}): PartialResults {
  const start = Math.floor(((index - 1) * inputs.length) / count);
  const end = Math.floor((index * inputs.length) / count);
  return {
    source: `artifact results-shard-${index}-of-${count}`,
    comparison: compareSystems(inputs.slice(start, end), normalizer, {
      dataset,
      run: {
        ...RUN,
        device: index === 2 ? 'cuda' : 'cpu',
        shard: `${index}/${count}`,
        stageSeconds: { transcribe: index },
        ...run,
      },
      bootstrap,
    }),
    manifest,
  };
}

describe('mergePartialResults', () => {
  test('merged shards equal the comparison of all utterances at once, whatever order they arrive in', () => {
    const whole = compareSystems(inputs, normalizer, {
      dataset,
      run: RUN,
      bootstrap,
      gate: { thresholdPoints: 1, mode: 'strict' },
    });
    const merged = mergePartialResults([shard(3, 3), shard(1, 3), shard(2, 3)], {
      bootstrap,
      gate: { thresholdPoints: 1, mode: 'strict' },
    });
    const { run, ...figures } = merged;
    const { run: _wholeRun, ...wholeFigures } = whole;
    expect(figures).toEqual(wholeFigures);
    expect(run).toEqual({
      ...RUN,
      device: 'cpu, cuda',
      shards: [1, 2, 3].map((index) => ({
        shard: `${index}/3`,
        source: `artifact results-shard-${index}-of-3`,
        utterances: 10,
        device: index === 2 ? 'cuda' : 'cpu',
        stageSeconds: { transcribe: index },
      })),
    });
  });

  test("the merge decides the gate with its own threshold, not the shards' partial verdicts", () => {
    const parts = [shard(1, 2), shard(2, 2)];
    expect(mergePartialResults(parts, { bootstrap, gate: { thresholdPoints: 10 } }).gate.verdict).toBe('pass');
    expect(mergePartialResults(parts, { bootstrap, gate: { thresholdPoints: 0.5 } }).gate.verdict).toBe('fail');
  });

  test.each([
    [
      'a missing shard',
      () => [shard(1, 3), shard(3, 3)],
      'shard 2/3 is missing (found 1/3, 3/3); every shard job must finish and upload its results before the merge — re-run the failed ones',
    ],
    ['two missing shards', () => [shard(2, 4), shard(3, 4)], 'shards 1/4, 4/4 are missing (found 2/4, 3/4)'],
    [
      'a shard twice',
      () => [shard(1, 2), shard(2, 2), { ...shard(2, 2), source: 'artifact copy' }],
      'artifact results-shard-2-of-2 and artifact copy are both shard 2/2; give each matrix job its own shard',
    ],
    [
      'shards of different counts',
      () => [shard(1, 2), shard(2, 3)],
      'artifact results-shard-1-of-2 is shard 1/2 but artifact results-shard-2-of-3 is shard 2/3',
    ],
    [
      'a whole run',
      () => [{ ...shard(1, 1), comparison: { ...shard(1, 1).comparison, run: RUN } }],
      'holds the results of a whole run, not of one shard',
    ],
    [
      'another model revision',
      () => [shard(1, 2), shard(2, 2, { modelRevision: 'd'.repeat(40) })],
      `are shards of different runs (model revision "${'b'.repeat(40)}" vs "${'d'.repeat(40)}")`,
    ],
    [
      'another engine',
      () => [shard(1, 2), shard(2, 2, { engine: 'command' })],
      'are shards of different runs (engine "onnx-ctc" vs "command")',
    ],
    [
      'other quantized files',
      () => [
        shard(1, 2),
        { ...shard(2, 2), manifest: { ...manifest, files: [{ ...manifest.files[0]!, sha256: 'e'.repeat(64) }] } },
      ],
      'evaluated different quantized files (their manifests differ)',
    ],
    ['nothing', () => [], 'there are no partial results to merge'],
  ])('refuses %s in one line', (_case, parts, message) => {
    const attempt = () => mergePartialResults(parts(), { bootstrap });
    expect(attempt).toThrow(QuantgateError);
    expect(attempt).toThrow(message);
  });

  test('refuses shards of another data set, normalizer or overlapping selections', () => {
    const other = shard(2, 2);
    expect(() =>
      mergePartialResults([
        shard(1, 2),
        { ...other, comparison: { ...other.comparison, dataset: { ...dataset, split: 'test.other' } } },
      ]),
    ).toThrow('(split "test.clean" vs "test.other")');
    expect(() =>
      mergePartialResults([shard(1, 2), { ...other, comparison: { ...other.comparison, normalizer: 'whisper' } }]),
    ).toThrow('(normalizer "basic" vs "whisper")');
    const overlapping = {
      ...other,
      comparison: {
        ...other.comparison,
        utterances: [...other.comparison.utterances, shard(1, 2).comparison.utterances[0]!],
      },
    };
    expect(() => mergePartialResults([shard(1, 2), overlapping])).toThrow(
      'utterance "u00" is in both shard 1/2 and shard 2/2; the shard jobs selected different utterances',
    );
  });
});
