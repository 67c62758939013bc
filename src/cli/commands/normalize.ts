// `quantgate normalize`: applies a WER text normalizer to stdin, line for line, so that transcripts
// can be normalized, or a normalizer checked against another implementation, outside a scoring run.

import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createNormalizer, NORMALIZER_NAMES } from '../../scoring/normalize/index.js';
import { choiceOption } from '../../common/option-values.js';
import { EXIT_OK, type Command } from '../command.js';

export const normalizeCommand: Command = {
  usage: `
usage: quantgate normalize [--normalizer whisper|basic|none] < transcripts.txt

Reads lines on stdin and writes each one normalized on stdout, as WER scoring normalizes references
and hypotheses before splitting them into words.

options:
  --normalizer NAME  whisper (default): OpenAI Whisper's EnglishTextNormalizer, the convention of
                     published English WERs; basic: Whisper's BasicTextNormalizer (lower case,
                     symbols removed, accents kept); none: the text unchanged but for its
                     whitespace (runs become one space, the ends are trimmed)
`,
  options: { normalizer: { type: 'string' } },
  async run(values, _positionals, context) {
    const normalize = createNormalizer(choiceOption(values, 'normalizer', NORMALIZER_NAMES) ?? 'whisper');
    const lines = createInterface({ input: context.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      if (!context.stdout.write(`${normalize(line)}\n`)) await once(context.stdout, 'drain');
    }
    return EXIT_OK;
  },
};
