import { framesFor, frameRule } from '../../../src/engines/onnx-ctc/frames.js';

/** wav2vec2-base's feature encoder, from its config.json. */
const WAV2VEC2 = { conv_kernel: [10, 3, 3, 3, 3, 2, 2], conv_stride: [5, 2, 2, 2, 2, 2, 2] };

describe('frameRule', () => {
  test('wav2vec2 feature encoder: the frame counts Hugging Face gives', () => {
    const rule = frameRule(WAV2VEC2, 'config.json');
    if (rule.kind === 'unknown') throw new Error('expected a rule');
    // Wav2Vec2Model._get_feat_extract_output_lengths: 1 s of 16 kHz audio is 49 frames.
    expect([16000, 400, 399, 720, 48000, 0].map((samples) => framesFor(rule, samples))).toEqual([49, 1, 0, 2, 149, 0]);
  });

  test('the adapter adds its strided layers, with Hugging Face defaults', () => {
    const rule = frameRule({ ...WAV2VEC2, add_adapter: true }, 'config.json');
    expect(rule).toEqual({
      kind: 'convolutions',
      layers: [
        ...WAV2VEC2.conv_kernel.map((kernel, i) => ({ kernel, stride: WAV2VEC2.conv_stride[i] })),
        ...Array(3).fill({ kernel: 1, stride: 2 }),
      ],
    });
    if (rule.kind === 'unknown') throw new Error('expected a rule');
    expect(framesFor(rule, 16000)).toBe(7);
    expect(frameRule({ ...WAV2VEC2, add_adapter: true, num_adapter_layers: 1, adapter_stride: 4 }, 'c')).toMatchObject({
      layers: expect.arrayContaining([{ kernel: 1, stride: 4 }]),
    });
  });

  test('inputs_to_logits_ratio: frames whose whole stride lies in the utterance', () => {
    const rule = frameRule({ inputs_to_logits_ratio: 480 }, 'config.json');
    expect(rule).toEqual({ kind: 'ratio', samplesPerFrame: 480 });
    if (rule.kind === 'unknown') throw new Error('expected a rule');
    expect([16000, 479, 480, 959].map((samples) => framesFor(rule, samples))).toEqual([33, 0, 1, 1]);
  });

  test('the convolutions win over a ratio; neither is unknown', () => {
    expect(frameRule({ ...WAV2VEC2, inputs_to_logits_ratio: 320 }, 'c').kind).toBe('convolutions');
    expect(frameRule({ hidden_size: 768 }, 'c')).toEqual({ kind: 'unknown' });
  });

  test('a conv_kernel without conv_stride is some other convolution, not the feature encoder', () => {
    expect(frameRule({ conv_kernel: 15, inputs_to_logits_ratio: 480 }, 'c')).toEqual({
      kind: 'ratio',
      samplesPerFrame: 480,
    });
    expect(frameRule({ conv_kernel: [10, 3] }, 'c')).toEqual({ kind: 'unknown' });
  });

  test.each([
    [
      { conv_kernel: [10, 3], conv_stride: [5] },
      /^cfg: conv_stride is \[5\], not a list of 2 positive integers, one per conv_kernel; use the config.json exported with the model$/,
    ],
    [{ conv_kernel: [10, 0], conv_stride: [5, 2] }, /conv_kernel is \[10,0\], not a list of positive integers/],
    [{ conv_stride: [5] }, /conv_kernel is missing, not a list of positive integers/],
    [{ ...WAV2VEC2, add_adapter: true, adapter_stride: 1.5 }, /adapter_stride is 1\.5, not a positive integer/],
    [{ inputs_to_logits_ratio: '320' }, /inputs_to_logits_ratio is "320", not a positive integer/],
  ])('malformed geometry %j is refused in one line', (config, message) => {
    expect(() => frameRule(config, 'cfg')).toThrow(message);
  });
});
