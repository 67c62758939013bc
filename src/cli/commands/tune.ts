// `quantgate tune`: the smallest mix of tensor types within the gate's budget, or the lowest KLD
// within a size (pipeline/tune.ts). Prints the search's steps, the tuned size and the --tensor-type
// lines that reproduce the file. Exit code 0 when the tuned mix passes the gate, 1 when no mix
// reaches the budget (or, with --target best, the chosen mix fails the gate), 2 on any error.

import { createProgress } from '../../common/progress.js';
import { CANDIDATE_MODES, DEVICES, ENGINE_NAMES } from '../../engines/catalogue.js';
import { DEFAULT_CALIBRATION_SAMPLES } from '../../pipeline/calibration.js';
import { DEFAULT_RUN_OPTIONS } from '../../pipeline/options.js';
import { SENSITIVITY_GROUPINGS, SENSITIVITY_METHODS } from '../../pipeline/sensitivity.js';
import { DEFAULT_ALLOW_TYPES, DEFAULT_TUNE_METHOD, readTuneOptions } from '../../pipeline/tune-options.js';
import { renderTuneText, TUNE_TARGETS } from '../../report/tune-report.js';
import { EXIT_GATE_FAILED, EXIT_OK, type Command, type OptionSpec } from '../command.js';
import { GATED_JOB_OPTIONS, textOptions } from '../job-options.js';

const options: OptionSpec = {
  ...GATED_JOB_OPTIONS,
  ...textOptions(['allow-types', 'target', 'max-size', 'calibration-samples', 'method', 'group']),
};

export const tuneCommand: Command = {
  usage: `
usage: quantgate tune [options]

Finds the smallest mix of tensor types that stays within the gate's budget: every weight starts at
--quant-type; the groups are ranked by sensitivity on the first utterances of the dataset; the
group that buys the most sensitivity per byte is promoted to the next allowed type, one at a time,
each mix measured on those utterances; a mix that meets that proxy is confirmed by the full
evaluation (the run \`quantgate run --tensor-type …\` makes). Writes the tuned GGUF and manifest,
the confirming run's eval_results, tune_results.json and tune_chart.svg into --out-dir, and prints
the --tensor-type lines that reproduce the file. With no options: the embedded demo model, offline.

search
  --threshold <points>         the budget: largest ΔWER of the full evaluation (default ${DEFAULT_RUN_OPTIONS.threshold.toFixed(1)}),
                               tested as --gate-mode says (point | lenient | strict, default point)
  --max-kld <nats>             also a budget on the mean KLD (default: none)
  --allow-types <list>         the types a weight may take, comma-separated (default ${DEFAULT_ALLOW_TYPES.join(',')};
                               q8_0 and f32 may be added); --quant-type must be one of them
  --target <t>                 ${TUNE_TARGETS.join(' | ')} (default smallest); best: the lowest calibration KLD within
                               --max-size <MB> (MB of 1024·1024 bytes), then gated as run gates it
  --calibration-samples <n>    the first N utterances of the dataset selection (default ${DEFAULT_CALIBRATION_SAMPLES})
  --method <m>                 the sensitivity ranking: ${SENSITIVITY_METHODS.join(' | ')} (default ${DEFAULT_TUNE_METHOD})
  --group <g>                  ${SENSITIVITY_GROUPINGS.join(' | ')}: promote one tensor, or one layer and role, at a time
                               (default tensor)
as for \`quantgate run\`
  model: --model-id, --revision, --model-path, --hf-token, --hub-url, --cache-dir, --offline
  quantization: --quant-type <q4_0|q8_0> (the start), --max-shard-size, --shard-format,
  --keep-single-file, --keep, --skip, --preset, --threads (--tensor-type is what tune writes)
  data: --dataset, --dataset-revision, --dataset-config, --split, --max-samples (the full
  evaluation's utterances, default 100), --max-duration, --max-failed-utterances, --audio-column,
  --text-column, --id-column, --normalizer
  engine: --engine <${ENGINE_NAMES.filter((name) => name !== 'command').join(' | ')}> (token metrics needed), --candidate-mode <${CANDIDATE_MODES.join(' | ')}>,
  --device <${DEVICES.join(' | ')}>, --batch-size, --base-top-k
  gate and reuse: --gate-mode, --seed, --resamples, --results-cache, --no-reuse
  output: --out-dir <dir> (default ${DEFAULT_RUN_OPTIONS.outDir})

See docs/TUNING.md.
`,
  options,
  aliases: { model: 'model-path', type: 'quant-type', reuse: 'reuse-results' },
  async run(values, _positionals, context) {
    const tuneOptions = readTuneOptions(values);
    const { runTune } = await import('../../pipeline/tune.js');
    context.stop?.enter('tune');
    const { result, output } = await runTune(tuneOptions, {
      progress: createProgress({ stream: context.stderr }),
      env: context.env,
      signal: context.stop?.signal,
      onStage: (stage) => context.stop?.enter(stage),
    });
    context.stdout.write(`${renderTuneText(result)}\n`);
    if (output) {
      const model = output.model.format === 'single' ? output.model.files[0] : `${output.model.files.length} files`;
      context.stdout.write(
        `tuned model: ${model} (manifest ${output.model.manifestPath})\nresults: ${output.resultsPath}, ${output.chartPath}, ${output.evalResults.jsonPath}\n`,
      );
    }
    return result.passed ? EXIT_OK : EXIT_GATE_FAILED;
  },
};
