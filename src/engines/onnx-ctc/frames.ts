// How many logit frames of a zero-padded batch belong to each utterance. config.json describes it
// in one of two ways: wav2vec2's feature encoder (conv_kernel and conv_stride lists, and the
// optional adapter), whose frame count Hugging Face computes layer by layer as
// floor((L − k) / s) + 1; or a plain `inputs_to_logits_ratio`, samples per frame, where an
// utterance keeps the frames whose whole stride of input lies inside it. Without either the count
// is unknown, and only utterances of equal length may share a batch.

import { QuantgateError, jsonText } from '../../common/errors.js';

export type FrameRule =
  | { kind: 'convolutions'; layers: readonly { kernel: number; stride: number }[] }
  | { kind: 'ratio'; samplesPerFrame: number }
  | { kind: 'unknown' };

/** Hugging Face's defaults for the adapter of a wav2vec2 config with `add_adapter`. */
const DEFAULT_ADAPTER_LAYERS = 3;
const DEFAULT_ADAPTER_STRIDE = 2;

/** The frame rule `config` describes; `source` names the file in errors. */
export function frameRule(config: Readonly<Record<string, unknown>>, source: string): FrameRule {
  const invalid = (key: string, expected: string) =>
    new QuantgateError(
      `${source}: ${key} is ${jsonText(config[key])}, not ${expected}; use the config.json exported with the model`,
    );
  // conv_stride marks the feature encoder: other models use a lone conv_kernel for some other convolution.
  if (config.conv_stride !== undefined) {
    const kernels = config.conv_kernel;
    const strides = config.conv_stride;
    if (!isPositiveIntegers(kernels)) throw invalid('conv_kernel', 'a list of positive integers');
    if (!isPositiveIntegers(strides) || strides.length !== kernels.length)
      throw invalid('conv_stride', `a list of ${kernels.length} positive integers, one per conv_kernel`);
    const layers = kernels.map((kernel, i) => ({ kernel, stride: strides[i] }));
    if (config.add_adapter === true) {
      const count = config.num_adapter_layers ?? DEFAULT_ADAPTER_LAYERS;
      const stride = config.adapter_stride ?? DEFAULT_ADAPTER_STRIDE;
      if (!isPositiveInteger(count)) throw invalid('num_adapter_layers', 'a positive integer');
      if (!isPositiveInteger(stride)) throw invalid('adapter_stride', 'a positive integer');
      for (let i = 0; i < count; i++) layers.push({ kernel: 1, stride });
    }
    return { kind: 'convolutions', layers };
  }
  if (config.inputs_to_logits_ratio !== undefined) {
    if (!isPositiveInteger(config.inputs_to_logits_ratio))
      throw invalid('inputs_to_logits_ratio', 'a positive integer');
    return { kind: 'ratio', samplesPerFrame: config.inputs_to_logits_ratio };
  }
  return { kind: 'unknown' };
}

/** The frames an utterance of `samples` samples yields under a known rule. */
export function framesFor(rule: Exclude<FrameRule, { kind: 'unknown' }>, samples: number): number {
  if (rule.kind === 'ratio') return Math.floor(samples / rule.samplesPerFrame);
  let length = samples;
  for (const { kernel, stride } of rule.layers) length = Math.max(0, Math.floor((length - kernel) / stride) + 1);
  return length;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function isPositiveIntegers(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every(isPositiveInteger);
}
