// Transcript files for `wer`: a reference and a hypothesis, read, paired and scored as the command does.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNormalizer } from '../../src/scoring/normalize/index.js';
import { pairTranscripts, readTranscriptFile } from '../../src/scoring/transcripts.js';
import { scoreCorpus } from '../../src/scoring/wer.js';
import { transcriptSeeds } from '../corpus.js';
import { unpackParts } from '../mutators.js';
import type { FuzzTarget } from '../target.js';

const normalize = createNormalizer('whisper');

export const transcripts: FuzzTarget = {
  name: 'transcripts',
  summary: 'reference and hypothesis transcripts (readTranscriptFile, pairTranscripts, scoreCorpus as `wer` runs them)',
  structure: 'line-parts',
  seeds: async () => transcriptSeeds(),
  async parse(input, scratch) {
    const [reference = new Uint8Array(0), hypothesis = new Uint8Array(0)] = unpackParts(input, 2);
    const dir = await scratch.folder();
    await writeFile(join(dir, 'ref.txt'), reference);
    await writeFile(join(dir, 'hyp.txt'), hypothesis);
    const paired = pairTranscripts(await readTranscriptFile(join(dir, 'ref.txt')), [
      await readTranscriptFile(join(dir, 'hyp.txt')),
    ]);
    scoreCorpus(
      paired.map(({ id, reference: text, hypotheses: [hypothesisText] }) => ({
        id,
        reference: normalize(text),
        hypothesis: normalize(hypothesisText!),
      })),
    );
  },
};
