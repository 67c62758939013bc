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

describe('--tensor-type', () => {
  const plan = (tensorTypes: { glob: string; type: 'q4_0' | 'q8_0' | 'f16' | 'f32' }[], more = {}) =>
    planTensors(kyutai, { preset: 'kyutai-stt', tensorTypes, ...more });

  test('gives the weights a glob matches its type, and the plan says which line did', () => {
    const mixed = plan([{ glob: 'transformer.layers.*.gating.*', type: 'q8_0' }]);
    const linearIn = mixed.tensors.find((tensor) => tensor.name === 'transformer.layers.0.gating.linear_in.weight')!;
    expect([linearIn.type, linearIn.reason]).toEqual(['Q8_0', '--tensor-type transformer.layers.*.gating.*=q8_0']);
    expect(typeOf(mixed, 'text_linear.weight')).toBe('Q4_0');
    expect(mixed.tensorTypes).toEqual([{ glob: 'transformer.layers.*.gating.*', type: 'q8_0' }]);
    expect(mixed.byType.Q8_0).toEqual({ tensors: 2, elements: 11264 * 2048 + 2048 * 5632, bytes: expect.any(Number) });
  });

  test('the last line that matches wins', () => {
    const mixed = plan([
      { glob: '*.weight', type: 'f16' },
      { glob: 'text_*', type: 'q8_0' },
      { glob: '*_weight', type: 'f32' },
    ]);
    expect(typeOf(mixed, 'emb.0.weight')).toBe('F16');
    expect(typeOf(mixed, 'text_emb.weight')).toBe('Q8_0');
    expect(typeOf(mixed, 'text_linear.weight')).toBe('Q8_0');
    expect(typeOf(mixed, 'transformer.layers.0.self_attn.in_proj_weight')).toBe('F32');
    const exception = plan([
      { glob: 'text_*', type: 'q8_0' },
      { glob: 'text_linear.weight', type: 'f16' },
    ]);
    expect(typeOf(exception, 'text_emb.weight')).toBe('Q8_0');
    expect(typeOf(exception, 'text_linear.weight')).toBe('F16');
  });

  test('norms, 1-D tensors and --keep stay F32; ragged rows fall back to F16 and name the line', () => {
    const mixed = plan([{ glob: '*', type: 'q8_0' }], { keep: ['text_linear.weight'] });
    expect(typeOf(mixed, 'out_norm.alpha')).toBe('F32');
    expect(typeOf(mixed, 'text_linear.weight')).toBe('F32');
    const ragged = planTensors([{ name: 'conv.weight', dtype: 'F32', shape: [64, 1, 7] }], {
      tensorTypes: [{ glob: 'conv.*', type: 'q8_0' }],
    });
    expect(ragged.tensors.map((tensor) => [tensor.type, tensor.reason])).toEqual([
      ['F16', 'ne0 7 is not a multiple of 32 (--tensor-type conv.*=q8_0)'],
    ]);
  });

  test('general.file_type is the type holding most of the parameters of the weights typed as asked', () => {
    // The transformer's matrices hold 51 M parameters; the embeddings and the text head, 37 M.
    const mostlyF16 = plan([{ glob: 'transformer.*', type: 'f16' }]);
    expect(mostlyF16.fileType).toBe(LLAMA_FILE_TYPE.F16);
    const mostlyQ4 = plan([{ glob: 'transformer.layers.0.self_attn.out_proj.weight', type: 'q8_0' }]);
    expect(mostlyQ4.fileType).toBe(LLAMA_FILE_TYPE.Q4_0);
    expect(plan([{ glob: '*', type: 'f32' }]).fileType).toBe(LLAMA_FILE_TYPE.F32);
    // Every weight moved: the --quant-type names nothing any more.
    expect(plan([{ glob: '*', type: 'q8_0' }]).fileType).toBe(LLAMA_FILE_TYPE.Q8_0);
  });

  test('a line that matches no tensor, or only tensors of a fixed type, is an error naming it', () => {
    expect(() => plan([{ glob: 'layers.*', type: 'q8_0' }])).toThrow(QuantgateError);
    expect(() => plan([{ glob: 'layers.*', type: 'q8_0' }])).toThrow(
      /^--tensor-type 'layers\.\*=q8_0' matches no tensor of the model; .*quantize --dry-run without this line lists them$/,
    );
    for (const [line, more] of [
      [{ glob: '*norm*', type: 'f16' }, {}],
      [{ glob: 'extra_heads.*', type: 'f16' }, {}],
      [{ glob: 'text_linear.weight', type: 'f16' }, { keep: ['text_*'] }],
    ] as const) {
      expect(() => plan([line], more)).toThrow(
        new RegExp(
          `^--tensor-type '${line.glob.replace(/[.*]/g, '\\$&')}=f16' matches only tensors whose type is fixed`,
        ),
      );
    }
    // Shadowed by a later line everywhere it matches.
    expect(() =>
      plan([
        { glob: 'text_linear.weight', type: 'f16' },
        { glob: 'text_*', type: 'q8_0' },
      ]),
    ).toThrow(
      /^--tensor-type 'text_linear\.weight=f16' matches only tensors whose type is fixed.*a later --tensor-type line/,
    );
  });
});
