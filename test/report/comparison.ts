// A small scored comparison built through the real scoring code, shared by the report tests.

import { compareSystems, type ComparisonInput } from '../../src/scoring/compare.js';
import type { ScoredComparison } from '../../src/scoring/types.js';

const utterances: [id: string, transcript: string, reference: string, candidate: string][] = [
  [
    '1089-0000',
    'he hoped there would be stew for dinner',
    'he hoped there would be stew for dinner',
    'he hoped there would be stew for diner',
  ],
  [
    '1089-0001',
    'turnips and carrots and bruised potatoes',
    'turnips and carrots and bruised potatoes',
    'turnip and carrot and bruised potato',
  ],
  ['1089-0002', 'a | b <i>c</i>', 'a | b <i>c</i>', 'a | b <i>c</i> *d*'],
  [
    '1089-0003',
    'hello bertie any good in your mind',
    'hello bertie any good in your mind',
    'hello bertie any good in your mind',
  ],
  ['1089-0004', 'the music came nearer', 'the music came near', 'the music came nearer'],
  ['1089-0005', '', 'uh', ''],
];

export function sampleComparison(): ScoredComparison {
  const inputs: ComparisonInput[] = utterances.map(([id, transcript, reference, candidate]) => ({
    id,
    transcript,
    reference: { text: reference, ms: 100 },
    candidate: { text: candidate, ms: 80 },
  }));
  return compareSystems(
    inputs,
    { name: 'none', normalize: (text) => text.trim() },
    {
      dataset: {
        name: 'openslr/librispeech_asr',
        config: 'clean',
        split: 'test',
        revision: '71ba8e1b8d37a0f4b5bb1b04a7b32c2bbcd5d1e1',
      },
      failedUtterances: [{ id: '1089-0099', error: 'truncated FLAC' }],
      run: { modelId: 'kyutai/stt-1b-en_fr', engine: 'fake', device: 'cpu', stageSeconds: { transcribe: 12.5 } },
      bootstrap: { resamples: 1000, seed: 1 },
    },
  );
}
