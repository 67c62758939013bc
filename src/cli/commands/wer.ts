// `quantgate wer`: word error rate of transcript files, and with --baseline the gated comparison of
// two systems — the scoring stage on its own, for transcripts produced anywhere.

import { QuantgateError } from '../../common/errors.js';
import {
  choiceOption,
  flagOption,
  numberOption,
  requiredString,
  stringOption,
  type OptionValues,
} from '../../common/option-values.js';
import { EXIT_GATE_FAILED, EXIT_OK, type Command, type CommandContext } from '../command.js';
import { renderTextSummary } from '../../report/terminal.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED } from '../../scoring/bootstrap.js';
import { compareSystemsInSlices, type NamedNormalizer } from '../../scoring/compare.js';
import { formatInteger, formatPercent } from '../../scoring/figures.js';
import { DEFAULT_GATE_MODE, DEFAULT_THRESHOLD_POINTS, GATE_MODES } from '../../scoring/gate.js';
import { verdictOf } from '../../scoring/token-gate.js';
import { NORMALIZER_NAMES, createNormalizer } from '../../scoring/normalize/index.js';
import { pairTranscripts, readTranscriptFile } from '../../scoring/transcripts.js';
import { scoreCorpus } from '../../scoring/wer.js';

const COMPARISON_OPTIONS = ['threshold', 'gate-mode', 'seed', 'resamples'] as const;

export const werCommand: Command = {
  usage: `
usage: quantgate wer --reference <file> --hypothesis <file> [--normalizer whisper|basic|none] [--json]
       quantgate wer --reference <file> --hypothesis <file> --baseline <file> [--threshold <points>]
                     [--gate-mode point|lenient|strict] [--seed <n>] [--resamples <n>] [--normalizer …] [--json]

Scores hypothesis transcripts against reference transcripts: corpus WER = (S + D + I) / reference
words, summed over all utterances. References that are empty after normalization are dropped.

Files hold one utterance per line, or JSON Lines with "id" and "text" on each line (detected per
file). JSON Lines files pair by id; otherwise files pair line by line.

  --reference <file>    the correct transcripts
  --hypothesis <file>   the transcripts to score (with --baseline: the candidate system's)
  --normalizer <name>   text normalization applied to every transcript: whisper (Whisper's English
                        normalizer, as published WER figures use), basic, or none (default whisper)
  --json                print the result as JSON
  --baseline <file>     the reference system's transcripts: compare --hypothesis against them, print
                        ΔWER = WER(hypothesis) − WER(baseline) with its paired-bootstrap 95% interval,
                        and exit 1 when the gate fails
  --threshold <points>  the largest ΔWER that passes, in percentage points (default ${DEFAULT_THRESHOLD_POINTS.toFixed(1)})
  --gate-mode <mode>    point: fail when ΔWER > threshold (default ${DEFAULT_GATE_MODE}); lenient: fail when the
                        interval's lower bound > threshold; strict: fail when its upper bound > threshold
  --seed <n>            bootstrap seed (default ${DEFAULT_SEED})
  --resamples <n>       bootstrap resamples (default ${formatInteger(DEFAULT_RESAMPLES)})

Exit status: 0 scored (and the gate passed), 1 the gate failed, 2 an error.
`,
  options: {
    reference: { type: 'string' },
    hypothesis: { type: 'string' },
    baseline: { type: 'string' },
    normalizer: { type: 'string' },
    json: { type: 'boolean' },
    threshold: { type: 'string' },
    'gate-mode': { type: 'string' },
    seed: { type: 'string' },
    resamples: { type: 'string' },
  },
  run: runWer,
};

async function runWer(values: OptionValues, _positionals: string[], context: CommandContext): Promise<number> {
  const referencePath = requiredString(values, 'reference');
  const hypothesisPath = requiredString(values, 'hypothesis');
  const baselinePath = stringOption(values, 'baseline');
  const normalizerName = choiceOption(values, 'normalizer', NORMALIZER_NAMES) ?? 'whisper';
  const normalizer: NamedNormalizer = { name: normalizerName, normalize: createNormalizer(normalizerName) };
  const json = flagOption(values, 'json') ?? false;
  if (baselinePath === undefined) {
    const misplaced = COMPARISON_OPTIONS.find((name) => values.raw(name) !== undefined);
    if (misplaced)
      throw new QuantgateError(`--${misplaced} applies to a comparison and needs --baseline <file>; see --help`);
  }
  const gate = {
    mode: choiceOption(values, 'gate-mode', GATE_MODES),
    thresholdPoints: numberOption(values, 'threshold', { min: 0 }),
  };
  const bootstrap = {
    seed: numberOption(values, 'seed', { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
    resamples: numberOption(values, 'resamples', { integer: true, min: 100, max: 1_000_000 }),
  };

  context.stop?.enter('score');
  const files = await Promise.all(
    [referencePath, hypothesisPath, ...(baselinePath === undefined ? [] : [baselinePath])].map(readTranscriptFile),
  );
  const [reference, hypothesis, baseline] = files;
  const paired = pairTranscripts(reference!, baseline ? [hypothesis!, baseline] : [hypothesis!]);

  if (!baseline) {
    const score = scoreCorpus(
      paired.map(({ id, reference: text, hypotheses: [hypothesisText] }) => ({
        id,
        reference: normalizer.normalize(text),
        hypothesis: normalizer.normalize(hypothesisText!),
      })),
    );
    const { total } = score;
    if (json) {
      context.stdout.write(
        `${JSON.stringify({ normalizer: normalizer.name, utteranceCount: score.utterances.length, droppedEmptyIds: score.droppedEmptyIds, ...total }, null, 2)}\n`,
      );
    } else {
      const dropped =
        score.droppedEmptyIds.length > 0 ? `; ${score.droppedEmptyIds.length} empty references dropped` : '';
      context.stdout.write(
        `WER ${formatPercent(total.werPercent)} (S ${formatInteger(total.substitutions)}, D ${formatInteger(total.deletions)}, I ${formatInteger(total.insertions)}; ` +
          `${formatInteger(total.referenceWords)} words in ${formatInteger(score.utterances.length)} utterances, ${normalizer.name} normalizer${dropped})\n`,
      );
    }
    return EXIT_OK;
  }

  const inputs = paired.map(({ id, reference: transcript, hypotheses: [candidateText, baselineText] }) => ({
    id,
    transcript,
    reference: { text: baselineText! },
    candidate: { text: candidateText! },
  }));
  const comparison = await compareSystemsInSlices(
    inputs,
    normalizer,
    { dataset: { name: referencePath }, gate, bootstrap },
    context.stop?.signal,
  );
  if (json) {
    const { utterances: _perUtterance, ...summary } = comparison;
    context.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    context.stdout.write(renderTextSummary(comparison));
  }
  return verdictOf(comparison) === 'pass' ? EXIT_OK : EXIT_GATE_FAILED;
}
