// `quantgate verify`: checks a quantized model's structure, its files against the manifest, and,
// given the source model, that every tensor decodes to within one quantization step of it.

import { formatBytes } from '../../common/format.js';
import { createProgress } from '../../common/progress.js';
import { QuantgateError } from '../../common/errors.js';
import { stringOption } from '../../common/option-values.js';
import { verifyQuantized, type TensorCheck } from '../../formats/gguf/verify.js';
import { EXIT_OK, type Command } from '../command.js';

export const verifyCommand: Command = {
  usage: `
usage: quantgate verify <model.gguf | shard folder | split part | manifest.json> [options]

  --manifest <file>   the manifest to check the files against (default: <name>.manifest.json beside the output)
  --model-path <path> the source model (folder, .safetensors or index): every tensor must decode to
                      within one quantization step of it; --model also works
`,
  options: { manifest: { type: 'string' }, 'model-path': { type: 'string' } },
  aliases: { model: 'model-path' },
  allowPositionals: true,
  async run(values, positionals, context) {
    if (positionals.length !== 1)
      throw new QuantgateError(
        'verify takes one path: the .gguf, the shard folder, a split part or the manifest; see --help',
      );
    const report = await verifyQuantized({
      path: positionals[0]!,
      manifest: stringOption(values, 'manifest'),
      model: stringOption(values, 'model-path'),
      progress: createProgress({ stream: context.stderr }),
    });
    const lines = [`structure: OK, ${report.tensorCount} tensors in ${report.path}`];
    if (report.manifest) {
      lines.push(
        `manifest: OK, ${report.manifest.files.length} ${report.manifest.format} file(s), ${formatBytes(report.manifest.totalSize)}, every size and sha256 as listed in ${report.manifest.path}`,
      );
    } else lines.push('manifest: none found beside the output (pass --manifest to check the files)');
    if (report.tensors)
      lines.push(
        `values: OK, every tensor within its quantization step of the source; worst per type: ${worstPerType(report.tensors)}`,
      );
    else lines.push('values: not checked (pass --model-path with the source model)');
    context.stdout.write(`${lines.join('\n')}\n`);
    return EXIT_OK;
  },
};

function worstPerType(tensors: readonly TensorCheck[]): string {
  const worst = new Map<string, number>();
  for (const tensor of tensors) worst.set(tensor.type, Math.max(worst.get(tensor.type) ?? 0, tensor.worstRatio));
  return [...worst].map(([type, ratio]) => `${type} ${ratio.toFixed(2)}× of the allowed error`).join(', ');
}
