// Per-tensor types as the options spell them: `--tensor-type <glob>=<type>`, as llama-quantize's
// `--tensor-type` takes them, one per line of the action input or per repetition of the flag. The
// plan (plan.ts) matches them and prints them back (formatTensorType).

import { QuantgateError } from '../common/errors.js';
import { lineListOption, type OptionValues } from '../common/option-values.js';
import { QUANT_TYPES, type QuantType, type TensorTypeOverride } from './plan.js';

/** The overrides an option gives, one `glob=type` per line or per repetition of the option. */
export function tensorTypesOption(values: OptionValues): TensorTypeOverride[] {
  return lineListOption(values, 'tensor-type').map((line) => parseTensorType(line, values.label('tensor-type')));
}

/** One `glob=type` line; `label` names the option in the error. */
function parseTensorType(line: string, label: string): TensorTypeOverride {
  // The type never holds `=`, so the last one separates it: a glob may contain `=`.
  const at = line.lastIndexOf('=');
  const glob = at < 0 ? '' : line.slice(0, at).trim();
  const type = at < 0 ? '' : line.slice(at + 1).trim();
  if (glob === '' || type === '') {
    throw new QuantgateError(
      `${label}: "${line}" is not <glob>=<type>; write one per line, e.g. 'layers.*.ffn.*=q8_0'`,
    );
  }
  if (!(QUANT_TYPES as readonly string[]).includes(type)) {
    throw new QuantgateError(
      `${label}: "${line}" asks for type "${type}"; use one of ${QUANT_TYPES.join(', ')}, the types --quant-type takes`,
    );
  }
  return { glob, type: type as QuantType };
}
