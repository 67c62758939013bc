import { planTensors, type SourceTensor } from '../../src/quant/plan.js';
import { LLAMA_FILE_TYPE } from '../../src/formats/gguf/constants.js';
import { QuantgateError } from '../../src/common/errors.js';

// A slice of the real stt-1b-en_fr tensor list (../shared/golden/kyutai/stt-1b-en_fr.tensors.txt).
const kyutai: SourceTensor[] = [
  { name: 'emb.0.weight', dtype: 'BF16', shape: [2049, 2048] },
  { name: 'text_emb.weight', dtype: 'BF16', shape: [8001, 2048] },
  { name: 'transformer.layers.0.norm1.alpha', dtype: 'BF16', shape: [1, 1, 2048] },
  { name: 'transformer.layers.0.self_attn.in_proj_weight', dtype: 'BF16', shape: [6144, 2048] },
  { name: 'transformer.layers.0.self_attn.out_proj.weight', dtype: 'BF16', shape: [2048, 2048] },
  { name: 'transformer.layers.0.gating.linear_in.weight', dtype: 'BF16', shape: [11264, 2048] },
  { name: 'transformer.layers.0.gating.linear_out.weight', dtype: 'BF16', shape: [2048, 5632] },
  { name: 'out_norm.alpha', dtype: 'BF16', shape: [1, 1, 2048] },
  { name: 'text_linear.weight', dtype: 'BF16', shape: [8000, 2048] },
  { name: 'extra_heads.0.weight', dtype: 'BF16', shape: [6, 2048] },
];

const typeOf = (plan: ReturnType<typeof planTensors>, name: string) =>
  plan.tensors.find((tensor) => tensor.name === name)?.type;

describe('tensor plan defaults', () => {
  const plan = planTensors(kyutai);

  test('weights with whole blocks along ne0 become Q4_0, embeddings included', () => {
    for (const name of [
      'emb.0.weight',
      'text_emb.weight',
      'transformer.layers.0.self_attn.in_proj_weight',
      'transformer.layers.0.gating.linear_out.weight',
      'text_linear.weight',
    ]) {
      expect(typeOf(plan, name)).toBe('Q4_0');
    }
  });

  test('norms stay F32 whatever their rank', () => {
    expect(typeOf(plan, 'transformer.layers.0.norm1.alpha')).toBe('F32');
    expect(typeOf(plan, 'out_norm.alpha')).toBe('F32');
  });

  test('ne is the reversed shape and sizes follow the block geometry', () => {
    const inProj = plan.tensors.find((tensor) => tensor.name.endsWith('in_proj_weight'))!;
    expect(inProj.ne).toEqual([2048, 6144]);
    expect(inProj.bytes).toBe(((6144 * 2048) / 32) * 18);
    expect(inProj.sourceBytes).toBe(6144 * 2048 * 2);
    expect(plan.fileType).toBe(LLAMA_FILE_TYPE.Q4_0);
  });

  test('totals add up per type', () => {
    expect(plan.bytes).toBe(plan.tensors.reduce((sum, tensor) => sum + tensor.bytes, 0));
    expect(plan.byType.Q4_0?.tensors).toBe(8); // extra_heads.0.weight [6, 2048] quantizes too: ne0 is 2048
    expect(plan.byType.F32?.tensors).toBe(2);
  });

  test('1-D tensors and non-weights stay F32; weights with ragged rows fall back to F16 and say why', () => {
    const mixed = planTensors([
      { name: 'conv.bias', dtype: 'F32', shape: [64] },
      { name: 'quantizer.embedding_sum', dtype: 'F32', shape: [2048, 256] },
      { name: 'encoder.conv.weight', dtype: 'F32', shape: [64, 1, 7] },
      { name: 'head.weight', dtype: 'F16', shape: [29, 200] },
    ]);
    expect(mixed.tensors.map((tensor) => [tensor.type, tensor.reason])).toEqual([
      ['F32', '1-D'],
      ['F32', 'not a weight'],
      ['F16', 'ne0 7 is not a multiple of 32'],
      ['F16', 'ne0 200 is not a multiple of 32'],
    ]);
  });
});

describe('tensor plan options', () => {
  test('--type q8_0, f16 and f32', () => {
    expect(typeOf(planTensors(kyutai, { type: 'q8_0' }), 'text_linear.weight')).toBe('Q8_0');
    expect(planTensors(kyutai, { type: 'q8_0' }).fileType).toBe(LLAMA_FILE_TYPE.Q8_0);
    expect(typeOf(planTensors(kyutai, { type: 'f16' }), 'text_linear.weight')).toBe('F16');
    expect(typeOf(planTensors(kyutai, { type: 'f32' }), 'text_linear.weight')).toBe('F32');
    expect(planTensors(kyutai, { type: 'f16' }).byType.BF16).toBeUndefined();
    expect(planTensors(kyutai, { type: 'f16' }).fileType).toBe(LLAMA_FILE_TYPE.F16);
    expect(planTensors(kyutai, { type: 'f32' }).fileType).toBe(LLAMA_FILE_TYPE.F32);
  });

  test('when no tensor takes the requested type, the file type follows what the weights became', () => {
    const ragged = [
      { name: 'proj.weight', dtype: 'BF16', shape: [64, 40] },
      { name: 'norm.weight', dtype: 'F32', shape: [40] },
    ];
    expect(planTensors(ragged, { type: 'q4_0' }).fileType).toBe(LLAMA_FILE_TYPE.F16);
    expect(planTensors([ragged[1]!], { type: 'q4_0' }).fileType).toBe(LLAMA_FILE_TYPE.F32);
  });

  test('--keep keeps matching tensors F32 and --skip leaves them out', () => {
    const plan = planTensors(kyutai, { keep: ['text_linear.*'], skip: ['emb.*', 'extra_heads.*'] });
    expect(typeOf(plan, 'text_linear.weight')).toBe('F32');
    expect(typeOf(plan, 'emb.0.weight')).toBeUndefined();
    expect(plan.skipped.map((tensor) => tensor.name)).toEqual(['emb.0.weight', 'extra_heads.0.weight']);
  });

  test('the kyutai-stt preset leaves out the VAD heads', () => {
    const plan = planTensors(kyutai, { preset: 'kyutai-stt' });
    expect(plan.skipped.map((tensor) => tensor.name)).toEqual(['extra_heads.0.weight']);
    expect(typeOf(plan, 'text_linear.weight')).toBe('Q4_0');
  });

  test('an unconvertible dtype names the tensor and the way out', () => {
    expect(() => planTensors([{ name: 'step', dtype: 'I64', shape: [1] }])).toThrow(QuantgateError);
    expect(() => planTensors([{ name: 'step', dtype: 'I64', shape: [1] }])).toThrow(/step has dtype I64.*--skip/);
  });

  test('skipping everything is an error, not an empty file', () => {
    expect(() => planTensors(kyutai, { skip: ['*'] })).toThrow(/no tensors/);
  });
});
