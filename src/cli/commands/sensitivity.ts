// `quantgate sensitivity`: which tensors cost the accuracy. Ranks each group of quantized tensors
// by the damage of quantizing it alone (pipeline/sensitivity.ts), by the relative output error of
// its layers (fast) or the mean KLD of a candidate (exact), and prints the ranking as a table, or
// as JSON with --json. Exit code 0, or 2 on any error.

import { formatDuration } from '../../common/format.js';
import { choiceOption, flagOption, numberOption } from '../../common/option-values.js';
import { createProgress } from '../../common/progress.js';
import { CANDIDATE_MODES, DEVICES, ENGINE_NAMES } from '../../engines/catalogue.js';
import { DEFAULT_RUN_OPTIONS, readRunOptions } from '../../pipeline/options.js';
import { DEFAULT_CALIBRATION_SAMPLES } from '../../pipeline/calibration.js';
import {
  DEFAULT_SENSITIVITY_METHOD,
  FALLBACK_TYPE,
  SENSITIVITY_GROUPINGS,
  SENSITIVITY_METHODS,
  type SensitivityResult,
} from '../../pipeline/sensitivity.js';
import { groupColumn, rankedGroupRows } from '../../report/sensitivity-content.js';
import { ruledTable } from '../../report/text-table.js';
import { EXIT_OK, type Command, type OptionSpec } from '../command.js';
import { JOB_OPTIONS, textOptions } from '../job-options.js';

const options: OptionSpec = {
  ...JOB_OPTIONS,
  ...textOptions(['method', 'group', 'calibration-samples']),
  json: { type: 'boolean' },
};

export const sensitivityCommand: Command = {
  usage: `
usage: quantgate sensitivity [options]

Ranks the quantized tensors by what quantizing each alone costs, on the first utterances of the
dataset. --method fast: the relative error the group's rounding makes in its layers' outputs,
sum |(W - Q(W)) x|^2 / sum |W x|^2 over inputs x sampled from the reference; one reference pass and
matrix products. --method exact: the mean KL divergence of a candidate where only that group is at
its type and every other tensor F32, against the reference; one reference pass, then one candidate
pass per group. With no options: the embedded demo model and its test set, offline.

sensitivity
  --method <m>                 ${SENSITIVITY_METHODS.join(' | ')} (default ${DEFAULT_SENSITIVITY_METHOD})
  --group <g>                  tensor | layer: one group per tensor (default), or per layer and role,
                               e.g. layers.7.ffn.* (docs/TUNING.md gives the rule)
  --calibration-samples <n>    the first N utterances of the dataset selection (default ${DEFAULT_CALIBRATION_SAMPLES})
  --json                       print the ranking as JSON instead of a table
model
  --model-id <org/name>, --revision <rev>, --model-path <dir>, --hf-token <token>, --hub-url <url>,
  --cache-dir <dir>, --offline  as for \`quantgate run\`
quantization
  --quant-type <t>             the type whose cost is measured: q4_0 | q8_0 (default q4_0)
  --keep <globs>, --skip <globs>, --preset kyutai-stt, --threads <n>
  --tensor-type <glob>=<t>     as for \`quantgate run\`: each tensor is measured at the type the plan gives it
data
  --dataset <id|path|url>, --dataset-revision <rev>, --dataset-config <name>, --split <name>,
  --max-duration <s>, --max-failed-utterances <n>, --audio-column, --text-column, --id-column
                               as for \`quantgate run\`
engine
  --engine <e>                 ${ENGINE_NAMES.filter((name) => name !== 'command').join(' | ')} (default auto; the
                               command engine cannot give token metrics)
  --candidate-mode <m>         ${CANDIDATE_MODES.join(' | ')} (default ${DEFAULT_RUN_OPTIONS.candidateMode})
  --device <d>                 ${DEVICES.join(' | ')} (default auto)
  --batch-size <n>             utterances per engine call (default ${DEFAULT_RUN_OPTIONS.batchSize})
  --base-top-k <k>             entries kept per step of a large vocabulary (default ${DEFAULT_RUN_OPTIONS.baseTopK})
`,
  options,
  aliases: { model: 'model-path', type: 'quant-type' },
  async run(values, _positionals, context) {
    const sensitivityOptions = {
      run: readRunOptions(values),
      method: choiceOption(values, 'method', SENSITIVITY_METHODS) ?? DEFAULT_SENSITIVITY_METHOD,
      grouping: choiceOption(values, 'group', SENSITIVITY_GROUPINGS) ?? 'tensor',
      calibrationSamples:
        numberOption(values, 'calibration-samples', { min: 1, integer: true }) ?? DEFAULT_CALIBRATION_SAMPLES,
    };
    const { runSensitivity } = await import('../../pipeline/sensitivity.js');
    context.stop?.enter('sensitivity');
    const result = await runSensitivity(sensitivityOptions, {
      progress: createProgress({ stream: context.stderr }),
      env: context.env,
      signal: context.stop?.signal,
    });
    if (flagOption(values, 'json')) {
      const { seconds: _seconds, ...stable } = result;
      context.stdout.write(`${JSON.stringify(stable, null, 2)}\n`);
    } else context.stdout.write(`${renderSensitivity(result)}\n`);
    return EXIT_OK;
  },
};

/** The ranking as a table, with what was measured and what it cost. */
export function renderSensitivity(result: SensitivityResult): string {
  const header = ['#', 'group', 'parameters', `saved vs ${FALLBACK_TYPE}`, METRIC_TITLES[result.metric], 'share'];
  const passes = result.groups.length;
  const types = `--quant-type ${result.quantType} and any --tensor-type`;
  const what =
    result.metric === 'output-error'
      ? `relative output error sum |(W - Q(W)) x|^2 / sum |W x|^2 of the group's layers (${types}), x sampled from the reference`
      : `mean KLD per step with only the group quantized (${types}) and every other tensor F32`;
  const cost =
    result.metric === 'output-error'
      ? `the products ${formatDuration(result.seconds.groups)} (quantizing included)`
      : `${passes} candidate pass${passes === 1 ? '' : 'es'} ${formatDuration(result.seconds.groups)} (${formatDuration(result.seconds.groups / passes)} each, quantizing included)`;
  return [
    '',
    `sensitivity (${result.method}): ${what}, on ${result.calibrationUtterances} utterances (${result.engine})`,
    '',
    ...ruledTable(header, rankedGroupRows(result.groups), groupColumn),
    '',
    `cost: the reference pass ${formatDuration(result.seconds.reference)}, ${cost}`,
  ].join('\n');
}

/** The score column's title for each metric. */
const METRIC_TITLES: Record<SensitivityResult['metric'], string> = {
  'output-error': 'output error',
  'mean-kld': 'mean KLD',
};
