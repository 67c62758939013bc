import { QuantgateError } from '../../src/common/errors.js';
import type { Manifest } from '../../src/formats/gguf/manifest.js';
import { mergePartialResults, type PartialResults } from '../../src/scoring/merge.js';
import { compareSystems, type ComparisonInput } from '../../src/scoring/compare.js';
import { summarizeTokenDamage, type UtteranceDamage } from '../../src/scoring/token-damage.js';
import type { KldFigures, RunInfo, ScoredComparison } from '../../src/scoring/types.js';
import { madeUpDamage, measuredRecord, withTokenMetrics } from './token-measures.js';

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

/** The made-up steps of an utterance by its place in `inputs`, whichever shard holds it. */
const damageOf = (id: string) => madeUpDamage(id, Number(id.slice(1)));

function measured(part: PartialResults, gates = {}): PartialResults {
  return { ...part, comparison: withTokenMetrics(part.comparison, { bootstrap, damageOf, gates }) };
}

function damage(id: string, klds: number[], top1: number[], logRatios: number[]): UtteranceDamage {
  return {
    id,
    klds: Float64Array.from(klds),
    top1: Uint8Array.from(top1),
    referenceLogProbs: Float64Array.from(logRatios, () => -1),
    candidateLogProbs: Float64Array.from(logRatios, (ratio) => -1 - ratio),
  };
}

describe('mergePartialResults: token metrics', () => {
  // Three utterances in two shards, with figures small enough to merge by hand:
  //   u00: 4 steps, KLDs 0.5 0.5 0 0 (mean 0.25, max 0.5), 3 agree, Σ log-ratio 0.4
  //   u01: 2 steps, KLDs 1.5 0.5     (mean 1,    max 1.5), 1 agrees, Σ log-ratio 1.0
  //   u02: 4 steps, KLDs 0 0 0 0     (mean 0,    max 0),   4 agree, Σ log-ratio 0
  // Merged: 10 steps, mean KLD (1 + 2 + 0) / 10 = 0.3, top-1 8/10, max 1.5, PPL ratio e^(1.4/10).
  const damages = [
    damage('u00', [0.5, 0.5, 0, 0], [1, 1, 1, 0], [0.1, 0.1, 0.1, 0.1]),
    damage('u01', [1.5, 0.5], [1, 0], [0.75, 0.25]),
    damage('u02', [0, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]),
  ];
  const byId = new Map(damages.map((entry) => [entry.id, entry]));

  function handShard(index: number, ids: string[]): PartialResults {
    const comparison = compareSystems(
      inputs.filter((input) => ids.includes(input.id)),
      normalizer,
      { dataset, run: { ...RUN, shard: `${index}/2` }, bootstrap },
    );
    const summary = summarizeTokenDamage(
      ids.map((id) => byId.get(id)!),
      bootstrap,
    )!;
    const { bootstrap: _bootstrap, ...figures } = summary;
    return {
      source: `artifact shard-${index}`,
      comparison: {
        ...comparison,
        kld: { available: true, ...figures },
        utterances: comparison.utterances.map((record) => measuredRecord(record, byId.get(record.id)!)),
      },
    };
  }

  test('recomputes the mean, interval, maximum, top-1 agreement and perplexity ratio as one job would; median and p99 are null', () => {
    const merged = mergePartialResults([handShard(2, ['u02']), handShard(1, ['u00', 'u01'])], { bootstrap });
    const kld = merged.kld as KldFigures;
    expect(kld.available).toBe(true);
    expect(kld.mean).toBeCloseTo(0.3, 12);
    expect(kld.max).toBe(1.5);
    expect(kld.top1Agreement).toBe(0.8);
    expect(kld.perplexityRatio).toBeCloseTo(Math.exp(0.14), 12);
    expect(kld.steps).toBe(10);
    expect(kld.median).toBeNull();
    expect(kld.p99).toBeNull();
    // The interval is the whole run's: the same ratio bootstrap over the same utterances in the same order.
    const whole = summarizeTokenDamage(damages, bootstrap)!;
    expect(kld.interval[0]).toBeCloseTo(whole.interval[0], 12);
    expect(kld.interval[1]).toBeCloseTo(whole.interval[1], 12);
    expect(kld.interval[0]).toBeLessThan(kld.interval[1]);
    expect(merged.tokenGates).toBeUndefined();
  });

  test('the token gates are decided on the merged figures, in the WER gate’s mode unless given', () => {
    const parts = [handShard(1, ['u00', 'u01']), handShard(2, ['u02'])];
    const point = mergePartialResults(parts, { bootstrap, tokenGates: { maxKld: 0.25, minTop1Agreement: 0.8 } });
    expect(point.tokenGates!.map(({ gate, verdict, value }) => [gate, verdict, value])).toEqual([
      ['max-kld', 'fail', point.kld!.available && point.kld!.mean],
      ['min-top1-agreement', 'pass', 0.8],
    ]);
    const lenient = mergePartialResults(parts, {
      bootstrap,
      gate: { mode: 'lenient', thresholdPoints: 100 },
      tokenGates: { maxKld: 0.25 },
    });
    expect(lenient.tokenGates![0]!.value).toBe((lenient.kld as KldFigures).interval[0]);
    const strict = mergePartialResults(parts, {
      bootstrap,
      gate: { mode: 'lenient' },
      tokenGates: { maxKld: 0.25, mode: 'strict' },
    });
    expect(strict.tokenGates![0]!.value).toBe((strict.kld as KldFigures).interval[1]);
  });

  test('shards of the made-up run merge to the figures of the whole run, in any order', () => {
    const whole = summarizeTokenDamage(
      inputs.map((input) => damageOf(input.id)),
      bootstrap,
    )!;
    const merged = mergePartialResults([measured(shard(3, 3)), measured(shard(1, 3)), measured(shard(2, 3))], {
      bootstrap,
    });
    const kld = merged.kld as KldFigures;
    for (const key of ['mean', 'max', 'top1Agreement', 'perplexityRatio', 'steps'] as const)
      expect([key, kld[key]]).toEqual([key, expect.closeTo(whole[key], 12)]);
    expect(kld.interval[0]).toBeCloseTo(whole.interval[0], 12);
    expect(kld.interval[1]).toBeCloseTo(whole.interval[1], 12);
  });

  test("the shards' own token gates are not carried over: the merge decides", () => {
    const parts = [measured(shard(1, 2), { maxKld: 0 }), measured(shard(2, 2), { maxKld: 0 })];
    expect(parts[0]!.comparison.tokenGates).toHaveLength(1);
    expect(mergePartialResults(parts, { bootstrap }).tokenGates).toBeUndefined();
  });

  test('shards from before token metrics merge without them, as before', () => {
    const merged = mergePartialResults([shard(1, 2), shard(2, 2)], { bootstrap });
    expect('kld' in merged).toBe(false);
    expect('tokenGates' in merged).toBe(false);
  });

  const command = { available: false as const, reason: 'the command engine sees no output distributions' };
  const withKld = (part: PartialResults, kld: ScoredComparison['kld']): PartialResults => ({
    ...part,
    comparison: { ...part.comparison, kld },
  });

  test.each([
    [
      'every shard without them, for one reason',
      () => [withKld(shard(1, 2), command), withKld(shard(2, 2), command)],
      command.reason,
    ],
    [
      'one shard without them',
      () => [measured(shard(1, 2)), withKld(shard(2, 2), command)],
      `shard 2/2 has no token metrics (${command.reason}) while other shards have; run every shard job with the same engine and quantgate version`,
    ],
    [
      'one shard from before token metrics',
      () => [shard(1, 2), measured(shard(2, 2))],
      'shard 1/2 has no token metrics (its results were written before quantgate measured them) while other shards have; run every shard job with the same engine and quantgate version',
    ],
    [
      'an utterance without its figures',
      () => {
        const part = measured(shard(2, 2));
        const [first, ...rest] = part.comparison.utterances;
        const { tokenSteps: _steps, ...bare } = first!;
        return [measured(shard(1, 2)), { ...part, comparison: { ...part.comparison, utterances: [bare, ...rest] } }];
      },
      'utterance "u15" of shard 2/2 lacks its per-utterance token figures, which a merge needs',
    ],
    [
      'utterances that do not cover the steps counted',
      () => {
        const part = measured(shard(1, 2));
        return [withKld(part, { ...(part.comparison.kld as KldFigures), steps: 1000 }), measured(shard(2, 2))];
      },
      'the utterances of shard 1/2 account for 66 of its 1000 token steps, so its figures cannot be merged exactly',
    ],
  ])('%s: the merged results say why they have no token metrics', (_case, parts, reason) => {
    expect(mergePartialResults(parts(), { bootstrap }).kld).toEqual({ available: false, reason });
  });

  test('token gates set on a merge without token metrics are a one-line error saying why', () => {
    const command = () => [
      withKld(shard(1, 2), { available: false, reason: 'the command engine sees no output distributions' }),
      withKld(shard(2, 2), { available: false, reason: 'the command engine sees no output distributions' }),
    ];
    const attempt = () => mergePartialResults(command(), { bootstrap, tokenGates: { maxKld: 0.1 } });
    expect(attempt).toThrow(QuantgateError);
    expect(attempt).toThrow(
      'max-kld needs token metrics, but the merged results have none: the command engine sees no output distributions; leave it unset for this run, or merge shards evaluated with an engine that measures them',
    );
    expect(() =>
      mergePartialResults([shard(1, 2), shard(2, 2)], {
        bootstrap,
        tokenGates: { maxKld: 0.1, minTop1Agreement: 0.9 },
      }),
    ).toThrow(
      'max-kld and min-top1-agreement need token metrics, but the merged results have none: the shards recorded no token metrics (written before quantgate measured them); leave them unset',
    );
  });

  test('a variant counts as reused when every shard reused it; each shard keeps its own', () => {
    const merged = mergePartialResults(
      [
        shard(1, 2, { reused: { reference: true, candidate: false } }),
        shard(2, 2, { reused: { reference: true, candidate: true } }),
      ],
      { bootstrap },
    );
    expect(merged.run.reused).toEqual({ reference: true, candidate: false });
    expect((merged.run.shards as { reused?: unknown }[]).map((part) => part.reused)).toEqual([
      { reference: true, candidate: false },
      { reference: true, candidate: true },
    ]);
  });
});
