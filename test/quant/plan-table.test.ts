import { planTensors } from '../../src/quant/plan.js';
import { formatPlanTable } from '../../src/report/plan-table.js';

test('the plan table lists every tensor, the left-out ones and the totals', () => {
  const plan = planTensors(
    [
      { name: 'layer.weight', dtype: 'BF16', shape: [64, 64] },
      { name: 'layer.norm.alpha', dtype: 'BF16', shape: [64] },
      { name: 'extra_heads.0.weight', dtype: 'BF16', shape: [6, 64] },
    ],
    { preset: 'kyutai-stt' },
  );
  const table = formatPlanTable(plan);
  expect(table.split('\n').slice(0, 4)).toEqual([
    'tensor            shape     from  to       bytes  why',
    '----------------  --------  ----  ----  --------  ------',
    'layer.weight      [64, 64]  BF16  Q4_0  2.25 KiB  weight',
    'layer.norm.alpha  [64]      BF16  F32      256 B  1-D',
  ]);
  expect(table).toContain('extra_heads.0.weight  (left out: matches --skip)');
  expect(table).toContain('2 tensors in the output, 1 left out; Q4_0: 1 tensors, 2.25 KiB; F32: 1 tensors, 256 B');
  expect(table).toContain('size 8.13 KiB → 2.50 KiB (3.25× smaller)');
});

test('with --tensor-type the rows name the line that typed them, and the totals list the lines and the file type', () => {
  const plan = planTensors(
    [
      { name: 'a.weight', dtype: 'F32', shape: [64, 64] },
      { name: 'b.weight', dtype: 'F32', shape: [128, 64] },
      { name: 'c.weight', dtype: 'F32', shape: [32, 64] },
    ],
    {
      tensorTypes: [
        { glob: '*', type: 'f16' },
        { glob: 'c.*', type: 'q8_0' },
      ],
    },
  );
  const table = formatPlanTable(plan);
  expect(table.split('\n').slice(2, 5)).toEqual([
    'a.weight  [64, 64]   F32   F16   8.00 KiB  --tensor-type *=f16',
    'b.weight  [128, 64]  F32   F16   16.0 KiB  --tensor-type *=f16',
    'c.weight  [32, 64]   F32   Q8_0  2.13 KiB  --tensor-type c.*=q8_0',
  ]);
  expect(table.split('\n').slice(-4)).toEqual([
    '3 tensors in the output, 0 left out; F16: 2 tensors, 24.0 KiB; Q8_0: 1 tensors, 2.13 KiB',
    'size 56.0 KiB → 26.1 KiB (2.14× smaller)',
    '--tensor-type *=f16, c.*=q8_0 over --quant-type q4_0',
    'general.file_type 1 (mostly F16)',
  ]);
});

test('a uniform plan ends with its file type and lists no --tensor-type line', () => {
  const table = formatPlanTable(planTensors([{ name: 'a.weight', dtype: 'F32', shape: [64, 64] }], { type: 'q8_0' }));
  expect(table).not.toContain('--tensor-type');
  expect(table.split('\n').at(-1)).toBe('general.file_type 7 (mostly Q8_0)');
  expect(
    formatPlanTable(planTensors([{ name: 'n.bias', dtype: 'F32', shape: [8] }]))
      .split('\n')
      .at(-1),
  ).toBe('general.file_type 0 (all F32)');
});
