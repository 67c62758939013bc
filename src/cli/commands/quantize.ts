// `quantgate quantize`: safetensors → Q4_0 (or Q8_0/F16/F32) GGUF, one file or shards, with a
// manifest. Prints the tensor plan first; `--dry-run` prints only the plan.

import { basename, dirname, extname } from 'node:path';
import { statSync } from 'node:fs';
import { formatBytes, formatDuration } from '../../common/format.js';
import { QuantgateError } from '../../common/errors.js';
import { createProgress, type Progress } from '../../common/progress.js';
import { PRESETS, QUANT_TYPES } from '../../quant/plan.js';
import { tensorTypesOption } from '../../quant/tensor-types.js';
import { maxShardBytesOption } from '../../pipeline/options.js';
import { SHARD_FORMATS } from '../../formats/gguf/output-layout.js';
import { quantizeModel } from '../../pipeline/quantize.js';
import { formatPlanTable } from '../../report/plan-table.js';
import {
  choiceOption,
  flagOption,
  listOption,
  numberOption,
  requiredString,
  stringOption,
  type OptionValues,
} from '../../common/option-values.js';
import { EXIT_OK, type Command } from '../command.js';

const DEFAULT_OUT_DIR = 'models';

export const quantizeCommand: Command = {
  usage: `
usage: quantgate quantize (--model-path <dir|file> | --model-id <org/name>) [options]

  --model-path <path>     model folder, .safetensors file or model.safetensors.index.json
  --model-id <org/name>   a Hugging Face model instead, downloaded into the shared cache;
                          --revision (default main), --hf-token, --hub-url, --cache-dir, --offline
                          as for \`quantgate download\`; the GGUF records the resolved commit
  --out-dir <dir>         output folder (default ${DEFAULT_OUT_DIR}); files are named <model>-q4.gguf,
                          <model>-q4-shards/, <model>-q4.manifest.json, …
  --quant-type <type>     ${QUANT_TYPES.join(' | ')} (default q4_0)
  --max-shard-size <MB>   largest file in MB of 1024·1024 bytes, decimals allowed; 0 = one file (default 512)
  --shard-format <fmt>    ${SHARD_FORMATS.join(' | ')} (default bytes: raw chunks shard-aa, shard-ab, …)
  --keep-single-file      beside byte shards, keep the single .gguf too (the default for bytes);
                          --no-keep-single-file writes only the shards
  --keep <globs>          tensors that stay F32 (comma-separated, repeatable)
  --skip <globs>          tensors left out (comma-separated, repeatable)
  --tensor-type <glob>=<type>
                          another type (${QUANT_TYPES.join(' | ')}) for the weights the glob matches,
                          e.g. 'layers.*.ffn.*=q8_0'; repeatable, the last line that matches wins;
                          norms, 1-D tensors and --keep stay F32
  --preset <name>         ${PRESETS.join(' | ')} (chosen automatically for Kyutai STT checkpoints)
  --threads <n>           worker threads (default: one per core)
  --dry-run               print the tensor plan and write nothing

Older spellings still work: --model (--model-path), --type (--quant-type), and --out <path>, which
names the .gguf itself (shards and the manifest take its base name) or a folder.
`,
  options: {
    'model-path': { type: 'string' },
    'model-id': { type: 'string' },
    revision: { type: 'string' },
    'hf-token': { type: 'string' },
    'hub-url': { type: 'string' },
    'cache-dir': { type: 'string' },
    offline: { type: 'boolean' },
    'out-dir': { type: 'string' },
    out: { type: 'string' },
    'quant-type': { type: 'string' },
    'max-shard-size': { type: 'string' },
    'shard-format': { type: 'string' },
    'keep-single-file': { type: 'boolean' },
    'no-keep-single-file': { type: 'boolean' },
    keep: { type: 'string', multiple: true },
    skip: { type: 'string', multiple: true },
    'tensor-type': { type: 'string', multiple: true },
    preset: { type: 'string' },
    threads: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  aliases: { model: 'model-path', type: 'quant-type' },
  async run(values, _positionals, context) {
    const progress = createProgress({ stream: context.stderr });
    const { outDir, name } = resolveOut(values);
    const signal = context.stop?.signal;
    if (stringOption(values, 'model-id') !== undefined) context.stop?.enter('download');
    const source = await modelSource(values, context.env, progress, signal);
    context.stop?.enter('quantize');
    const started = performance.now();
    const result = await quantizeModel({
      ...source,
      outDir,
      name,
      type: choiceOption(values, 'quant-type', QUANT_TYPES),
      maxShardBytes: maxShardBytesOption(values),
      shardFormat: choiceOption(values, 'shard-format', SHARD_FORMATS),
      keepSingleFile: flagOption(values, 'keep-single-file'),
      keep: listOption(values, 'keep'),
      skip: listOption(values, 'skip'),
      tensorTypes: tensorTypesOption(values),
      preset: choiceOption(values, 'preset', PRESETS),
      threads: numberOption(values, 'threads', { min: 1, integer: true }),
      dryRun: flagOption(values, 'dry-run') ?? false,
      progress,
      signal,
      onPlan: (plan) => context.stdout.write(`${formatPlanTable(plan)}\n`),
    });
    if (result.output) {
      const seconds = (performance.now() - started) / 1000;
      const valueCount = result.plan.tensors.reduce((sum, tensor) => sum + tensor.elements, 0);
      context.stdout.write(
        [
          '',
          `wrote ${result.output.format === 'single' ? result.output.files[0] : `${result.output.files.length} ${result.output.format} files`} (${formatBytes(result.plan.bytes)})`,
          ...(result.output.format === 'single' ? [] : result.output.files.map((file) => `  ${file}`)),
          `manifest ${result.output.manifestPath}`,
          `${(valueCount / 1e6 / seconds).toFixed(0)} M values/s, ${formatDuration(seconds)}`,
          '',
        ].join('\n'),
      );
    }
    return EXIT_OK;
  },
};

/** The weights to quantize: a local path, or a Hub snapshot whose commit the GGUF records. */
async function modelSource(
  values: OptionValues,
  env: NodeJS.ProcessEnv,
  progress: Progress,
  signal: AbortSignal | undefined,
): Promise<{ model: string; repoId?: string; revision?: string }> {
  const modelId = stringOption(values, 'model-id');
  if (modelId === undefined) return { model: requiredString(values, 'model-path') };
  if (stringOption(values, 'model-path') !== undefined)
    throw new QuantgateError('--model-path and --model-id both name a model; give one');
  // The Hub client loads only for a Hub model.
  const { downloadSnapshot } = await import('../../hub/snapshot.js');
  const snapshot = await downloadSnapshot({
    repoId: modelId,
    revision: stringOption(values, 'revision'),
    token: stringOption(values, 'hf-token'),
    hubUrl: stringOption(values, 'hub-url'),
    cacheDir: stringOption(values, 'cache-dir'),
    offline: flagOption(values, 'offline'),
    env,
    progress,
    signal,
  });
  return { model: snapshot.dir, repoId: snapshot.repoId, revision: snapshot.revision };
}

/**
 * `--out-dir` is a folder. The older `--out` may also name the .gguf the seed would write; shard
 * folders and the manifest then take its base name beside it. A folder (existing, or written with
 * a trailing slash) gets the default name.
 */
function resolveOut(values: OptionValues): { outDir: string; name?: string } {
  const outDir = stringOption(values, 'out-dir');
  const out = stringOption(values, 'out');
  if (outDir !== undefined && out !== undefined)
    throw new QuantgateError('--out is the older spelling of --out-dir; give one of them');
  if (outDir !== undefined) return { outDir };
  if (out === undefined) return { outDir: DEFAULT_OUT_DIR };
  if (/[/\\]$/.test(out) || isDirectory(out)) return { outDir: out };
  if (extname(out) !== '.gguf') {
    throw new QuantgateError(
      `--out ${out} should end in .gguf (the single-file name; shards go beside it) or name a folder`,
    );
  }
  return { outDir: dirname(out), name: basename(out, '.gguf') };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
