// `quantgate quantize`: safetensors → Q4_0 (or Q8_0/F16/F32) GGUF, one file or shards, with a
// manifest. Prints the tensor plan first; `--dry-run` prints only the plan.

import { basename, dirname, extname } from 'node:path';
import { statSync } from 'node:fs';
import { formatBytes, formatDuration } from '../../common/format.js';
import { QuantgateError } from '../../common/errors.js';
import { createProgress, type Progress } from '../../common/progress.js';
import { downloadSnapshot } from '../../hub/snapshot.js';
import { PRESETS, QUANT_TYPES } from '../../quant/plan.js';
import { maxShardBytesOption } from '../../pipeline/options.js';
import { SHARD_FORMATS } from '../../formats/gguf/output-layout.js';
import { quantizeModel } from '../../pipeline/quantize.js';
import { formatPlanTable } from '../../report/plan-table.js';
import { choiceOption, flagOption, listOption, numberOption, requiredString, stringOption, type OptionValues } from '../../common/option-values.js';
import { EXIT_OK, type Command } from '../command.js';

const DEFAULT_OUT_DIR = 'models';

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize safetensors weights to sharded GGUF (Q4_0 by default)',
  usage: `
usage: quantgate quantize (--model <dir|file> | --model-id <org/name>) [options]

  --model <path>          model folder, .safetensors file or model.safetensors.index.json
  --model-id <org/name>   a Hugging Face model instead, downloaded into the shared cache;
                          --revision (default main), --hf-token, --hub-url, --cache-dir, --offline
                          as for \`quantgate download\`; the GGUF records the resolved commit
  --out <path>            output .gguf path, or a folder for the default name
                          (default: ${DEFAULT_OUT_DIR}/<model>-q4.gguf; shards go beside it)
  --type <type>           ${QUANT_TYPES.join(' | ')} (default q4_0)
  --max-shard-size <MB>   largest file in MB of 1024·1024 bytes, decimals allowed; 0 = one file (default 512)
  --shard-format <fmt>    ${SHARD_FORMATS.join(' | ')} (default bytes: raw chunks shard-aa, shard-ab, …)
  --keep <globs>          tensors that stay F32 (comma-separated, repeatable)
  --skip <globs>          tensors left out (comma-separated, repeatable)
  --preset <name>         ${PRESETS.join(' | ')} (chosen automatically for Kyutai STT checkpoints)
  --threads <n>           worker threads (default: one per core)
  --dry-run               print the tensor plan and write nothing
`,
  options: {
    model: { type: 'string' },
    'model-id': { type: 'string' },
    revision: { type: 'string' },
    'hf-token': { type: 'string' },
    'hub-url': { type: 'string' },
    'cache-dir': { type: 'string' },
    offline: { type: 'boolean' },
    out: { type: 'string' },
    type: { type: 'string' },
    'max-shard-size': { type: 'string' },
    'shard-format': { type: 'string' },
    keep: { type: 'string', multiple: true },
    skip: { type: 'string', multiple: true },
    preset: { type: 'string' },
    threads: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  async run(values, _positionals, context) {
    const progress = createProgress({ stream: context.stderr });
    const { outDir, name } = resolveOut(stringOption(values, 'out'));
    const source = await modelSource(values, context.env, progress);
    const started = performance.now();
    const result = await quantizeModel({
      ...source,
      outDir,
      name,
      type: choiceOption(values, 'type', QUANT_TYPES),
      maxShardBytes: maxShardBytesOption(values),
      shardFormat: choiceOption(values, 'shard-format', SHARD_FORMATS),
      keep: listOption(values, 'keep'),
      skip: listOption(values, 'skip'),
      preset: choiceOption(values, 'preset', PRESETS),
      threads: numberOption(values, 'threads', { min: 1, integer: true }),
      dryRun: flagOption(values, 'dry-run') ?? false,
      progress,
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
async function modelSource(values: OptionValues, env: NodeJS.ProcessEnv, progress: Progress): Promise<{ model: string; repoId?: string; revision?: string }> {
  const modelId = stringOption(values, 'model-id');
  if (modelId === undefined) return { model: requiredString(values, 'model') };
  if (stringOption(values, 'model') !== undefined) throw new QuantgateError('--model and --model-id both name a model; give one');
  const snapshot = await downloadSnapshot({
    repoId: modelId,
    revision: stringOption(values, 'revision'),
    token: stringOption(values, 'hf-token'),
    hubUrl: stringOption(values, 'hub-url'),
    cacheDir: stringOption(values, 'cache-dir'),
    offline: flagOption(values, 'offline'),
    env,
    progress,
  });
  return { model: snapshot.dir, repoId: snapshot.repoId, revision: snapshot.revision };
}

/**
 * `--out` names the .gguf the seed would write; shard folders and the manifest take the same base
 * name beside it. A folder (existing, or written with a trailing slash) gets the default name.
 */
function resolveOut(out: string | undefined): { outDir: string; name?: string } {
  if (out === undefined) return { outDir: DEFAULT_OUT_DIR };
  if (/[/\\]$/.test(out) || isDirectory(out)) return { outDir: out };
  if (extname(out) !== '.gguf') {
    throw new QuantgateError(`--out ${out} should end in .gguf (the single-file name; shards go beside it) or name a folder`);
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
