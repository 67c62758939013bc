// What `quantgate sensitivity` costs, as a multiple of one plain evaluation of the same
// calibration subset (`quantgate run` on those utterances: quantizing, the reference and the
// candidate pass, scoring) measured in the same process just before.
//   sensitivity: the demo model (onnx-ctc), 16 utterances, both methods; also how far the fast
//     ranking agrees with the exact one (Spearman's rank correlation over the 20 tensors).
//   sensitivity-kyutai: --method fast on a model with the shapes of kyutai/stt-1b-en_fr and
//     random weights (kyutai.bench.ts), 2 utterances of 10 s; scores of random weights say
//     nothing about the real model, only what the method costs at that size.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '../src/audio/wav-writer.js';
import { formatBytes, formatDuration } from '../src/common/format.js';
import { DEFAULT_RUN_OPTIONS, type RunOptions } from '../src/pipeline/options.js';
import { runPipeline } from '../src/pipeline/run.js';
import { runSensitivity, type SensitivityMethod, type SensitivityResult } from '../src/pipeline/sensitivity.js';
import { audio, writeKyutaiModel } from './kyutai.bench.js';
import { seconds } from './measure.js';

const DEMO_SAMPLES = 16;
const KYUTAI_SECONDS = 10;
const KYUTAI_SAMPLES = 2;

/** Times a plain run on the first `samples` utterances, then each method; prints each as a ratio to the run. */
async function compare(
  run: RunOptions,
  samples: number,
  methods: readonly SensitivityMethod[],
): Promise<Map<SensitivityMethod, SensitivityResult>> {
  const plain = await seconds(() => runPipeline({ ...run, maxSamples: samples }));
  console.log(
    `plain evaluation of the ${samples} utterances (quantize, both passes, scoring): ${formatDuration(plain)}`,
  );
  const results = new Map<SensitivityMethod, SensitivityResult>();
  for (const method of methods) {
    let result: SensitivityResult | undefined;
    const rssBefore = process.memoryUsage().rss;
    const total = await seconds(
      async () => (result = await runSensitivity({ run, method, grouping: 'tensor', calibrationSamples: samples })),
    );
    const { reference, groups } = result!.seconds;
    console.log(
      `--method ${method}: ${formatDuration(total)}, ${(total / plain).toFixed(2)}× the plain evaluation (reference pass ${formatDuration(reference)}, ${method === 'fast' ? 'products' : `${result!.groups.length} candidate passes`} ${formatDuration(groups)}); RSS ${formatBytes(rssBefore)} before, ${formatBytes(process.memoryUsage().rss)} after`,
    );
    results.set(method, result!);
  }
  return results;
}

/** Spearman's rank correlation of two rankings of the same groups. */
function rankCorrelation(a: SensitivityResult, b: SensitivityResult): number {
  const rankInB = new Map(b.groups.map((group) => [group.group, group.rank]));
  const n = a.groups.length;
  const squares = a.groups.reduce((sum, group) => sum + (group.rank - rankInB.get(group.group)!) ** 2, 0);
  return 1 - (6 * squares) / (n * (n * n - 1));
}

export const bench = {
  name: 'sensitivity',
  summary:
    'sensitivity --method fast and exact on the demo model (16 utterances), against one plain evaluation of them',
  run: async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'quantgate-bench-sensitivity-'));
    try {
      const results = await compare({ ...DEFAULT_RUN_OPTIONS, outDir }, DEMO_SAMPLES, ['fast', 'exact']);
      const fast = results.get('fast')!;
      const exact = results.get('exact')!;
      console.log(
        `rankings: Spearman ${rankCorrelation(fast, exact).toFixed(2)} over ${fast.groups.length} tensors; top 5 fast ${fast.groups
          .slice(0, 5)
          .map((group) => group.group)
          .join(', ')}; top 5 exact ${exact.groups
          .slice(0, 5)
          .map((group) => group.group)
          .join(', ')}`,
      );
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  },
};

/** A model with the shapes of stt-1b-en_fr (random weights) and a dataset of its utterances in `dir`; the run options for them. */
export async function writeKyutaiJob(dir: string): Promise<RunOptions> {
  await writeKyutaiModel(dir);
  const data = join(dir, 'data');
  await mkdir(data);
  const lines = Array.from({ length: KYUTAI_SAMPLES }, (_, index) =>
    JSON.stringify({ id: `u${index}`, audio: `u${index}.wav`, text: 'a sentence of words' }),
  );
  for (let index = 0; index < KYUTAI_SAMPLES; index++)
    await writeFile(join(data, `u${index}.wav`), encodeWav(audio(KYUTAI_SECONDS, 20 + index), 24000, 'pcm16'));
  await writeFile(join(data, 'manifest.jsonl'), `${lines.join('\n')}\n`);
  return {
    ...DEFAULT_RUN_OPTIONS,
    modelPath: dir,
    dataset: join(data, 'manifest.jsonl'),
    maxSamples: KYUTAI_SAMPLES,
    outDir: join(dir, 'out'),
  };
}

export const kyutaiBench = {
  name: 'sensitivity-kyutai',
  summary: `sensitivity --method fast at the size of stt-1b-en_fr (random weights, CPU), ${KYUTAI_SAMPLES} utterances of ${KYUTAI_SECONDS} s, against one plain evaluation of them`,
  run: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quantgate-bench-sensitivity-kyutai-'));
    try {
      const run = await writeKyutaiJob(dir);
      const fast = (await compare(run, KYUTAI_SAMPLES, ['fast'])).get('fast')!;
      console.log(
        `${fast.groups.length} groups scored; top 3 (random weights: says nothing of the real model) ${fast.groups
          .slice(0, 3)
          .map((group) => `${group.group} ${group.score.toPrecision(3)}`)
          .join(', ')}; peak RSS of the whole benchmark ${formatBytes(process.resourceUsage().maxRSS * 1024)}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
