// `quantgate sensitivity` on the embedded demo model (onnx-ctc) and on a copy of it with one fragile
// layer, by both methods (fast is the default): the ranking is the same on every run, covers every
// quantized tensor once with shares that sum to 1, groups by layer and role with --group layer, and
// puts the fragile layer first.

import { EXIT_ERROR, EXIT_OK } from '../../src/cli/command.js';
import { demoPaths } from '../../src/pipeline/demo.js';
import { quantizeModel } from '../../src/pipeline/quantize.js';
import { layerGroupOf, type SensitivityResult } from '../../src/pipeline/sensitivity.js';
import { globToRegExp } from '../../src/common/glob.js';
import { runCli } from '../helpers/cli.js';
import { fragileModel } from '../helpers/fragile-model.js';
import { removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

// Two utterances keep each candidate pass to about a second; the ranking needs no more to be stable.
const CALIBRATION = ['--calibration-samples', '2', '--json'];

async function sensitivity(args: string[]): Promise<{ stdout: string; result: SensitivityResult }> {
  const run = await runCli(['sensitivity', ...CALIBRATION, ...args]);
  expect({ code: run.code, stderr: run.code === EXIT_OK ? '' : run.stderr }).toEqual({ code: EXIT_OK, stderr: '' });
  return { stdout: run.stdout, result: JSON.parse(run.stdout) as SensitivityResult };
}

/** The tensors the demo's Q4_0 plan quantizes, and their parameters. */
async function quantizedTensors(model: string): Promise<Map<string, number>> {
  const { plan } = await quantizeModel({ model, outDir: '', dryRun: true });
  return new Map(plan.tensors.filter((tensor) => tensor.type === 'Q4_0').map((t) => [t.name, t.elements]));
}

describe.each([
  { method: 'fast', args: [], metric: 'output-error' },
  { method: 'exact', args: ['--method', 'exact'], metric: 'mean-kld' },
])('sensitivity --method $method', ({ method, args, metric }) => {
  test('ranks every quantized tensor of the demo once, the same on every run, with shares summing to 1', async () => {
    const [first, second] = [await sensitivity(args), await sensitivity(args)];
    expect(second.stdout).toBe(first.stdout);
    const { result } = first;
    expect(result).toMatchObject({ method, metric, grouping: 'tensor', quantType: 'q4_0' });
    expect(result.fallbackType).toBe('F16');
    expect(result.calibrationUtterances).toBe(2);

    const expected = await quantizedTensors(demoPaths().model);
    expect(result.groups.map((group) => group.group).sort()).toEqual([...expected.keys()].sort());
    for (const group of result.groups) {
      expect(group.tensors).toEqual([group.group]);
      expect(group.parameters).toBe(expected.get(group.group));
      // F16 takes 2 bytes a parameter, Q4_0 18 bytes a block of 32.
      expect(group.bytesSaved).toBe(group.parameters * 2 - (group.parameters / 32) * 18);
      expect(group.score).toBeGreaterThan(0);
    }
    expect(result.groups.map((group) => group.rank)).toEqual(result.groups.map((_, i) => i + 1));
    const scores = result.groups.map((group) => group.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(result.groups.reduce((sum, group) => sum + group.share, 0)).toBeCloseTo(1, 12);
  }, 300_000);

  test('a layer whose input channels hold outliers ranks first, alone and within its layer group', async () => {
    const fragile = ['--model-path', await fragileModel(), '--dataset', demoPaths().testset, ...args];
    const byTensor = (await sensitivity(fragile)).result;
    expect(byTensor.groups[0]!.group).toBe('layers.0.ffn.up.weight');
    expect(byTensor.groups[0]!.score).toBeGreaterThan(10 * byTensor.groups[1]!.score);

    const byLayer = (await sensitivity([...fragile, '--group', 'layer'])).result;
    expect(byLayer.grouping).toBe('layer');
    expect(byLayer.groups[0]!.group).toBe('layers.0.ffn.*');
    const expected = await quantizedTensors(fragile[1]!);
    expect(byLayer.groups.map((group) => group.group).sort()).toEqual(
      [
        'ctc_head.weight',
        'input_proj.weight',
        ...[0, 1, 2].flatMap((layer) => [`layers.${layer}.attention.*`, `layers.${layer}.ffn.*`]),
      ].sort(),
    );
    // Each quantized tensor is in exactly one group, the one whose glob matches it.
    expect(byLayer.groups.flatMap((group) => group.tensors).sort()).toEqual([...expected.keys()].sort());
    for (const group of byLayer.groups) {
      for (const tensor of group.tensors) expect(globToRegExp(group.group).test(tensor)).toBe(true);
      expect(group.parameters).toBe(group.tensors.reduce((sum, name) => sum + expected.get(name)!, 0));
    }
    expect(byLayer.groups.find((group) => group.group === 'layers.1.attention.*')!.tensors).toEqual([
      'layers.1.attention.q_proj.weight',
      'layers.1.attention.k_proj.weight',
      'layers.1.attention.v_proj.weight',
      'layers.1.attention.out_proj.weight',
    ]);
    expect(byLayer.groups.reduce((sum, group) => sum + group.share, 0)).toBeCloseTo(1, 12);
  }, 300_000);
});

describe('sensitivity', () => {
  test('the layer group keeps the segments up to the role after the layer index', () => {
    expect(layerGroupOf('transformer.layers.7.gating.linear_in.weight')).toBe('transformer.layers.7.gating.*');
    expect(layerGroupOf('layers.7.ffn.up.weight')).toBe('layers.7.ffn.*');
    expect(layerGroupOf('layers.7.conv.weight')).toBe('layers.7.conv.*');
    expect(layerGroupOf('layers.7.weight')).toBe('layers.7.weight');
    expect(layerGroupOf('ctc_head.weight')).toBe('ctc_head.weight');
  });

  test('the command engine, and a plan with no block type, are one-line errors', async () => {
    const command = await runCli(['sensitivity', '--engine', 'command']);
    expect(command.code).toBe(EXIT_ERROR);
    expect(command.stderr).toMatch(/^quantgate sensitivity: .*command engine cannot see.*built-in engine/);
    expect(command.stderr.trim().split('\n')).toHaveLength(1);
    expect(command.stdout).toBe('');

    const float = await runCli(['sensitivity', '--quant-type', 'f16']);
    expect(float.code).toBe(EXIT_ERROR);
    expect(float.stderr).toMatch(/no weight a block type .* use --quant-type q4_0 or q8_0/);
    expect(float.stdout).toBe('');
  }, 60_000);
});
