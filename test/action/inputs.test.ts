import { QuantgateError } from '../../src/common/errors.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readActionInputs, shardArtifactName } from '../../src/action/inputs.js';
import { ENGINE_NAMES } from '../../src/engines/catalogue.js';
import { DEFAULT_DATASET_REVISION } from '../../src/pipeline/options.js';
import { repoRoot } from '../helpers/paths.js';
import { comparisonOutputs, modelOutputs, tuneOutputs } from '../../src/action/outputs.js';
import { publicationOutputs } from '../../src/action/publish.js';
import { sampleComparison } from '../report/comparison.js';
import { withTokenMetrics } from '../scoring/token-measures.js';
import { readActionYml, type ActionYml } from './action-yml.js';

let yml: ActionYml;

beforeAll(async () => {
  yml = await readActionYml();
});

/** A getInput over `values`, recording every name asked for. */
function inputsOf(values: Record<string, string>): { getInput: (name: string) => string; asked: Set<string> } {
  const asked = new Set<string>();
  return { asked, getInput: (name) => (asked.add(name), values[name] ?? '') };
}

describe('action.yml', () => {
  test('runs the bundle on node24', () => {
    expect(yml.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  test('declares exactly the inputs the action reads, over every mode', () => {
    const asked = new Set<string>();
    for (const mode of ['run', 'tune']) {
      const read = inputsOf({ mode });
      readActionInputs(read.getInput);
      for (const name of read.asked) asked.add(name);
    }
    expect([...asked].sort()).toEqual([...yml.inputs.keys()].sort());
  });

  test('its defaults are the defaults the action applies, the model excepted', () => {
    const defaults = Object.fromEntries(
      [...yml.inputs]
        .filter(([name, input]) => input.default !== undefined && name !== 'github-token')
        .map(([name, input]) => [name, input.default!]),
    );
    expect(defaults['model-id']).toBe('kyutai/stt-1b-en_fr');
    expect(readActionInputs(inputsOf(defaults).getInput)).toEqual(
      readActionInputs(inputsOf({ 'model-id': 'kyutai/stt-1b-en_fr' }).getInput),
    );
    expect(yml.inputs.get('github-token')!.default).toBe('${{ github.token }}');
  });

  test('its descriptions name every engine of the catalogue and the LibriSpeech pin', async () => {
    const text = await readFile(join(repoRoot, 'action.yml'), 'utf8');
    const description = (input: string) =>
      text.match(new RegExp(`^  ${input}:\\n    description: (.*)$`, 'm'))?.[1] ?? '';
    for (const engine of ENGINE_NAMES) expect(description('engine')).toContain(engine);
    expect(description('dataset-revision')).toContain(DEFAULT_DATASET_REVISION);
  });

  test('declares exactly the outputs the action sets', () => {
    const set = {
      ...comparisonOutputs(withTokenMetrics(sampleComparison()), {
        partial: false,
        resultsPath: 'models/eval_results.json',
      }),
      ...modelOutputs({ format: 'bytes', files: ['models/m-shards/shard-aa'], manifestPath: 'models/m.manifest.json' }),
      ...publicationOutputs({
        artifact: { id: 1, size: 1, url: 'https://github.com/o/r/actions/runs/1/artifacts/1' },
        releaseUrl: 'https://github.com/o/r/releases/tag/v1',
      }),
      ...tuneOutputs(['ctc_head.weight=f16'], {
        resultsPath: 'models/tune_results.json',
        chartPath: 'models/tune_chart.svg',
      }),
    };
    expect(Object.keys(set).sort()).toEqual([...yml.outputs].sort());
  });
});

describe('readActionInputs', () => {
  test("reads the run options by their CLI names, and the action's own inputs", () => {
    const inputs = readActionInputs(
      inputsOf({
        'model-id': 'kyutai/stt-1b-en_fr',
        threshold: '1.5',
        keep: 'a.*\nb.*',
        shard: '2/4',
        'upload-artifacts': 'false',
        'retention-days': '7',
        'fail-on-degradation': 'False',
        'artifact-name': 'stt',
        repository: 'octo/models',
      }).getInput,
    );
    expect(inputs).toMatchObject({
      mode: 'run',
      run: { modelId: 'kyutai/stt-1b-en_fr', threshold: 1.5, keep: ['a.*', 'b.*'], shard: { index: 1, count: 4 } },
      uploadArtifacts: false,
      retentionDays: 7,
      failOnDegradation: false,
      commentOnPr: false,
      cache: true,
      artifactName: 'stt',
      repository: { owner: 'octo', repo: 'models' },
    });
  });

  test('the token gates: unset by default, numbers of nats and a fraction when given', () => {
    expect(readActionInputs(inputsOf({}).getInput).run).toMatchObject({
      maxKld: undefined,
      minTop1Agreement: undefined,
    });
    expect(
      readActionInputs(inputsOf({ mode: 'merge', 'max-kld': '0.05', 'min-top1-agreement': '0.98' }).getInput).run,
    ).toMatchObject({ maxKld: 0.05, minTop1Agreement: 0.98 });
  });

  test('a model-path replaces the default model-id', () => {
    const inputs = readActionInputs(
      inputsOf({ 'model-id': 'kyutai/stt-1b-en_fr', 'model-path': 'assets/demo/quantgate-demo' }).getInput,
    );
    expect(inputs.run.modelPath).toBe('assets/demo/quantgate-demo');
    expect(inputs.run.modelId).toBeUndefined();
  });

  test('the Hub and history inputs, with their defaults', () => {
    expect(readActionInputs(inputsOf({}).getInput)).toMatchObject({
      hubCreatePr: false,
      publishOnFail: false,
      history: 'branch',
      historyBranch: 'quantgate-data',
      historyLast: 20,
    });
    const inputs = readActionInputs(
      inputsOf({
        'hub-repo': 'octo/stt-q4',
        'hub-revision': 'dev',
        'hub-create-pr': 'true',
        'publish-on-fail': 'true',
        history: 'cache',
        'history-branch': 'gate-data',
        'history-last': '5',
        'max-regression-vs-base': '0.5',
      }).getInput,
    );
    expect(inputs).toMatchObject({
      hubRepo: 'octo/stt-q4',
      hubRevision: 'dev',
      hubCreatePr: true,
      publishOnFail: true,
      history: 'cache',
      historyBranch: 'gate-data',
      historyLast: 5,
      maxRegressionVsBase: 0.5,
    });
  });

  test('download names a release, or an artifact by run and id', () => {
    expect(readActionInputs(inputsOf({ mode: 'download', 'release-tag': 'v1' }).getInput)).toMatchObject({
      mode: 'download',
      releaseTag: 'v1',
    });
    expect(
      readActionInputs(inputsOf({ mode: 'download', 'run-id': '12', 'artifact-id': '34' }).getInput),
    ).toMatchObject({ artifact: { runId: 12, artifactId: 34 } });
  });

  test('tune reads the search from its inputs, over the run options', () => {
    const inputs = readActionInputs(
      inputsOf({ mode: 'tune', 'allow-types': 'f16, q8_0,q4_0', group: 'layer', 'calibration-samples': '4' }).getInput,
    );
    expect(inputs.tune).toMatchObject({
      allowTypes: ['q4_0', 'q8_0', 'f16'],
      target: 'smallest',
      calibrationSamples: 4,
      grouping: 'layer',
      run: { quantType: 'q4_0', threshold: 2 },
    });
    expect(readActionInputs(inputsOf({ mode: 'run' }).getInput).tune).toBeUndefined();
  });

  test.each([
    [{ mode: 'publish' }, 'input "mode" must be one of run, merge, download, tune, got "publish"'],
    [{ mode: 'tune', 'allow-types': 'q4_0,q5_k' }, 'input "allow-types": "q5_k" is not a type'],
    [{ mode: 'tune', target: 'best' }, 'input "target" best finds the lowest KLD within a size; give that size'],
    [{ mode: 'tune', 'tensor-type': 'ctc_head.weight=f16' }, 'input "tensor-type" is what tune writes'],
    [{ mode: 'tune', 'release-tag': 'v1' }, 'input "release-tag" publishes a gated run\'s model; mode: tune uploads'],
    [{ 'max-samples': '-1' }, 'input "max-samples" must be an integer ≥ 0, got "-1"'],
    [{ 'quant-type': 'q2_k' }, 'input "quant-type" must be one of q4_0, q8_0, f16, f32, got "q2_k"'],
    [{ shard: '0/4' }, 'input "shard" must be I/N with 1 ≤ I ≤ N'],
    [
      { 'reference-command': 'run {manifest} {output}' },
      'input "reference-command" and input "candidate-command" go together',
    ],
    [{ cache: 'on' }, 'input "cache" must be true or false, got "on"'],
    [{ 'max-kld': '-0.1' }, 'input "max-kld" must be a number ≥ 0, got "-0.1"'],
    [{ 'min-top1-agreement': '98' }, 'input "min-top1-agreement" must be a number ≥ 0 and ≤ 1, got "98"'],
    [{ 'artifact-name': 'results/linux' }, 'input "artifact-name": artifact name "results/linux" contains "/"'],
    [{ repository: 'not a repo' }, 'input "repository" "not a repo" is not a GitHub repository'],
    [{ 'run-id': '12' }, 'input "run-id" and input "artifact-id" go together'],
    [
      { 'run-id': '12', 'artifact-id': '34' },
      'input "run-id" and input "artifact-id" name an artifact to download; they need mode: download',
    ],
    [
      { mode: 'download' },
      'mode: download needs either input "release-tag", or input "run-id" with input "artifact-id"',
    ],
    [
      { mode: 'download', 'release-tag': 'v1', 'run-id': '1', 'artifact-id': '2' },
      'mode: download needs either input "release-tag", or',
    ],
    [
      { mode: 'merge', shard: '1/2' },
      'input "shard" is for the jobs that evaluate; leave it out of the mode: merge job',
    ],
    [
      { mode: 'merge', 'release-tag': 'v1' },
      'input "release-tag" publishes the quantized model of a whole run, which a merge job does not have',
    ],
    [{ shard: '1/2', 'release-tag': 'v1' }, 'input "release-tag" publishes a whole run\'s model, not a shard\'s'],
    [{ 'hub-repo': 'stt-q4' }, 'input "hub-repo" "stt-q4" names no owner; give it as <org or user>/<name>'],
    [{ 'hub-repo': 'octo/a--b' }, 'input "hub-repo": repo id "octo/a--b" is not valid'],
    [
      { 'hub-repo': 'octo/stt-q4', shard: '1/2' },
      'input "hub-repo" publishes a whole run\'s quantized model, which a shard job does not have',
    ],
    [
      { 'hub-repo': 'octo/stt-q4', mode: 'merge' },
      'input "hub-repo" publishes a whole run\'s quantized model, which a mode: merge job does not have',
    ],
    [{ history: 'git' }, 'input "history" must be one of branch, cache, off, got "git"'],
    [{ 'history-last': '0' }, 'input "history-last" must be an integer ≥ 1, got "0"'],
    [{ 'max-regression-vs-base': '-1' }, 'input "max-regression-vs-base" must be a number ≥ 0, got "-1"'],
  ])('%j is refused in one line naming the input', (values, message) => {
    const read = () => readActionInputs(inputsOf(values).getInput);
    expect(read).toThrow(QuantgateError);
    expect(read).toThrow(message);
    expect(() => read()).not.toThrow(/\n/);
  });
});

test('a shard job names its artifact after the shard, counted from 1', () => {
  expect(shardArtifactName('quantgate-results', { index: 0, count: 4 })).toBe('quantgate-results-shard-1-of-4');
});

describe('comparisonOutputs', () => {
  const resultsPath = 'models/eval_results.json';

  test('the mean KLD and top-1 agreement with six significant digits, when measured', () => {
    const comparison = withTokenMetrics(sampleComparison());
    const outputs = comparisonOutputs(comparison, { partial: false, resultsPath });
    expect(outputs.kld).toBe('0.11756');
    expect(outputs['top1-agreement']).toBe('0.809524');
    const without = comparisonOutputs(
      { ...sampleComparison(), kld: { available: false, reason: 'the command engine sees no output distributions' } },
      { partial: false, resultsPath },
    );
    expect(Object.keys(without)).not.toContain('kld');
    expect(Object.keys(without)).not.toContain('top1-agreement');
  });

  test('passed is the verdict over every gate, and a shard sets none', () => {
    const comparison = sampleComparison();
    const passingWer = { ...comparison, gate: { ...comparison.gate, verdict: 'pass' as const } };
    expect(comparisonOutputs(passingWer, { partial: false, resultsPath }).passed).toBe('true');
    const failingTop1 = withTokenMetrics(passingWer, { gates: { minTop1Agreement: 0.99 } });
    expect(failingTop1.gate.verdict).toBe('pass');
    expect(comparisonOutputs(failingTop1, { partial: false, resultsPath }).passed).toBe('false');
    expect(comparisonOutputs(failingTop1, { partial: true, resultsPath })).not.toHaveProperty('passed');
  });
});
