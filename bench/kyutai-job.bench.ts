// The default Kyutai job as a user runs it, whole: `quantgate run` at every default (batch size,
// device, maximum samples) on a model with the real shapes of stt-1b-en_fr and random weights, over
// as many utterances as the default takes, their lengths spread like LibriSpeech test-clean's. The
// `kyutai` benchmark measures one batch of the longest utterances; this one shows whether memory
// grows from batch to batch. Reported: the job's peak RSS, in all and by stage.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration } from '../src/common/format.js';
import { DEFAULT_MAX_SAMPLES } from '../src/datasets/selection.js';
import { measureDefaultJob, random, writeKyutaiModel } from './kyutai.bench.js';

/**
 * Utterance lengths of test-clean (2,620 utterances) as (quantile, seconds), interpolated linearly:
 * its shortest (1.29 s), median (about 6 s), mean (7.4 s) and longest (34.96 s) are matched; the
 * points between are approximate. Read at evenly spaced quantiles, the longest comes out exactly.
 */
const TEST_CLEAN_QUANTILES: readonly (readonly [number, number])[] = [
  [0, 1.3],
  [0.1, 2.3],
  [0.25, 3.5],
  [0.5, 5.9],
  [0.75, 9.3],
  [0.9, 14],
  [0.97, 19.5],
  [0.99, 25],
  [1, 35],
];

/** `count` lengths at evenly spaced quantiles, in an order that mixes long and short as a dataset does. */
function testCleanLengths(count: number): number[] {
  const at = (quantile: number): number => {
    const upper = TEST_CLEAN_QUANTILES.findIndex(([point]) => point >= quantile);
    if (upper <= 0) return TEST_CLEAN_QUANTILES[0]![1];
    const [p0, s0] = TEST_CLEAN_QUANTILES[upper - 1]!;
    const [p1, s1] = TEST_CLEAN_QUANTILES[upper]!;
    return s0 + ((s1 - s0) * (quantile - p0)) / (p1 - p0);
  };
  const lengths = Array.from({ length: count }, (_, index) => Math.round(100 * at(index / (count - 1))) / 100);
  const next = random(3);
  for (let index = count - 1; index > 0; index--) {
    const other = Math.floor(((next() + 1) / 2) * (index + 1));
    [lengths[index], lengths[other]] = [lengths[other]!, lengths[index]!];
  }
  return lengths;
}

export const bench = {
  name: 'kyutai-job',
  summary: `the default Kyutai job at the size of stt-1b-en_fr (random weights), CPU: ${DEFAULT_MAX_SAMPLES} utterances of test-clean's lengths, peak RSS`,
  run: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quantgate-kyutai-job-bench-'));
    try {
      const started = performance.now();
      await writeKyutaiModel(dir);
      console.log(`model written in ${formatDuration((performance.now() - started) / 1000)}`);
      const lengths = testCleanLengths(DEFAULT_MAX_SAMPLES);
      const total = lengths.reduce((sum, seconds) => sum + seconds, 0);
      await measureDefaultJob(
        dir,
        lengths,
        `${lengths.length} utterances of ${Math.min(...lengths)} to ${Math.max(...lengths)} s, ${(total / lengths.length).toFixed(1)} s on average, ${formatDuration(total)} in all`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
