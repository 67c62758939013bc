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
