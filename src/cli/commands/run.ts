// `quantgate run`: the whole job (download, quantize, evaluate both variants, gate, results) in
// one command. With no arguments it runs offline on the embedded demo model and its test set.
// Exit code 0 on PASS, 1 on FAIL, 2 on any error.

import { createProgress } from '../../common/progress.js';
import { CANDIDATE_MODES, DEVICES, ENGINE_NAMES } from '../../engines/catalogue.js';
import { SHARD_FORMATS } from '../../formats/gguf/output-layout.js';
import {
  DEFAULT_DATASET,
  DEFAULT_DATASET_REVISION,
  DEFAULT_RUN_OPTIONS,
  readRunOptions,
} from '../../pipeline/options.js';
import { renderTextSummary } from '../../report/terminal.js';
import { formatPlanTotals } from '../../report/plan-table.js';
import { EXIT_GATE_FAILED, EXIT_OK, type Command, type OptionSpec } from '../command.js';
import { GATED_JOB_OPTIONS, textOptions } from '../job-options.js';

const options: OptionSpec = {
  ...GATED_JOB_OPTIONS,
  ...textOptions([
    'shard',
    'reference-command',
    'candidate-command',
    'command-timeout',
    'min-top1-agreement',
    'sensitivity',
    'reference-base',
  ]),
};

export const runCommand: Command = {
  usage: `
usage: quantgate run [options]

With no options: the embedded demo model and its test set, offline.

model
  --model-id <org/name>        Hub model (default: the embedded demo model)
  --revision <rev>             branch, tag or commit (default main); results record the commit
  --model-path <dir>           a local model folder instead of the Hub
  --hf-token <token>           Hub token (default $HF_TOKEN); never written anywhere
  --hub-url <url>              Hub address (default $HF_ENDPOINT or https://huggingface.co)
  --cache-dir <dir>            Hugging Face cache (default $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
  --offline                    use only the local cache
quantization
  --quant-type <t>             q4_0 | q8_0 | f16 | f32 (default q4_0)
  --max-shard-size <MB>        largest file, MB of 1024·1024 bytes; 0 = one file (default 512)
  --shard-format <f>           ${SHARD_FORMATS.join(' | ')} (default ${DEFAULT_RUN_OPTIONS.shardFormat})
  --keep-single-file           beside byte shards, keep the single .gguf too (the default for bytes);
                               --no-keep-single-file writes only the shards
  --keep <globs>, --skip <globs>, --preset kyutai-stt
  --tensor-type <glob>=<t>     another type for the weights the glob matches (repeatable; the last match wins)
data
  --dataset <id|path|url>      Hub dataset, local folder, parquet file or URL, or manifest
                               (default: the demo test set for the demo model, else openslr/librispeech_asr)
  --dataset-revision <rev>     branch, tag or commit (default ${DEFAULT_DATASET_REVISION.slice(0, 12)}… for
                               ${DEFAULT_DATASET}, main for any other); results record the commit
  --dataset-config <name>      --split <name> (default ${DEFAULT_RUN_OPTIONS.split})
  --max-samples <n>            first N utterances in a fixed order (default 100; 0 = all)
  --max-duration <s>           --max-failed-utterances <n> (default 0)
  --audio-column, --text-column, --id-column <name>   parquet columns
  --shard <i/n>                evaluate only shard i of n (matrix jobs; the gate is decided on merge)
  --normalizer <n>             whisper | basic | none (default whisper)
engine
  --engine <e>                 ${ENGINE_NAMES.join(' | ')} (default auto)
  --reference-command <tpl>, --candidate-command <tpl>, --command-timeout <s>   (see docs/ENGINES.md)
  --candidate-mode <m>         ${CANDIDATE_MODES.join(' | ')} (default ${DEFAULT_RUN_OPTIONS.candidateMode})
  --device <d>                 ${DEVICES.join(' | ')} (default auto)
  --batch-size <n>             utterances per engine call (default 8; lowered, with a line saying so,
                               when the machine's memory cannot hold it)
gate
  --threshold <points>         largest allowed WER increase, absolute points (default 2.0)
  --gate-mode <m>              point | lenient | strict (default point)
  --seed <n>, --resamples <n>  paired bootstrap (default 10000 resamples)
  --max-kld <nats>             also fail when the candidate's mean KL divergence from the reference
                               exceeds this (tested as --gate-mode says; default: not gated)
  --min-top1-agreement <f>     also fail when the share of steps whose top token agrees is below this
                               fraction, 0–1 (default: not gated); neither works with the command engine
  --sensitivity <when>         on-failure | always | never (default on-failure): after the gate, rank the
                               quantized tensors by \`sensitivity --method fast\` on the first 16
                               utterances and put the top 10 in the results and the summary; never
                               changes the verdict; the command engine skips it with a note
token metrics and reuse
  --reference-base <file>      an earlier run's reference_base.bin: the reference is not run at all
  --base-top-k <k>             entries kept per step of a large vocabulary in the base (default ${DEFAULT_RUN_OPTIONS.baseTopK})
  --results-cache <dir>        where each variant's results are kept by content key
                               (default $XDG_CACHE_HOME/quantgate/results, else ~/.cache/quantgate/results)
  --no-reuse                   evaluate both variants even when their results are stored
output
  --out-dir <dir>              GGUF or shards, manifest, eval_results.{txt,json}, reference_base.bin
                               (default models)
  --threads <n>                quantization threads (default: one per core)

As in \`quantgate quantize\`, --model and --type are accepted for --model-path and --quant-type.
`,
  options,
  aliases: { model: 'model-path', type: 'quant-type', reuse: 'reuse-results' },
  async run(values, _positionals, context) {
    const runOptions = readRunOptions(values);
    const { runPipeline } = await import('../../pipeline/run.js');
    const progress = createProgress({ stream: context.stderr });
    const result = await runPipeline(runOptions, {
      progress,
      env: context.env,
      signal: context.stop?.signal,
      onStage: (stage) => context.stop?.enter(stage),
    });
    context.stdout.write(
      [
        '',
        renderTextSummary(result.comparison).trimEnd(),
        '',
        formatPlanTotals(result.plan),
        `quantized model: ${result.quantized.format === 'single' ? result.quantized.files[0] : `${result.quantized.files.length} files`} (manifest ${result.quantized.manifestPath})`,
        `results: ${result.results.textPath}, ${result.results.jsonPath}`,
        ...(result.partial ? ['partial run (one shard): the gate is decided when the shards are merged'] : []),
        '',
      ].join('\n'),
    );
    return result.passed ? EXIT_OK : EXIT_GATE_FAILED;
  },
};
