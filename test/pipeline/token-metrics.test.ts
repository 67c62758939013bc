// Token metrics and reuse through `quantgate run` on the embedded demo model (onnx-ctc): the KLD
// figures in eval_results.json, the optional token gates, the reference base file reused with
// --reference-base (and refused for another model or selection), and content-addressed reuse of
// each variant's results: a second run reuses both, a changed --keep only the reference, a damaged
// entry is evaluated again.

import { appendFile, cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_GATE_FAILED, EXIT_OK } from '../../src/cli/command.js';
import { demoPaths } from '../../src/pipeline/demo.js';
import type { ScoredComparison } from '../../src/scoring/types.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

// Twelve utterances keep each run to seconds; ΔWER on so few is noisy, so the WER gate is set out of the way.
const SAMPLES = ['--max-samples', '12', '--threshold', '10'];

async function results(outDir: string): Promise<ScoredComparison> {
  return JSON.parse(await readFile(join(outDir, 'eval_results.json'), 'utf8')) as ScoredComparison;
}

/** The comparison without what differs between two evaluations of the same job: timings and what was reused. */
function figures(comparison: ScoredComparison, options: { timings: boolean }): unknown {
  const { stageSeconds: _stages, reused: _reused, ...run } = comparison.run;
  const dropped = new Set(options.timings ? [] : ['ms']);
  return JSON.parse(
    JSON.stringify({ ...comparison, run }, (key, value: unknown) => (dropped.has(key) ? undefined : value)),
  );
}

async function demoRun(args: string[], cache: string) {
  const outDir = await makeTempDir();
  const run = await runCli(['run', ...SAMPLES, '--out-dir', outDir, ...args], { env: { XDG_CACHE_HOME: cache } });
  return { ...run, outDir };
}

describe('token metrics', () => {
  test('an F32 candidate is the reference: KLD 0 and top-1 agreement 1, up to float rounding', async () => {
    const run = await demoRun(['--quant-type', 'f32', '--no-reuse'], await makeTempDir());
    expect(run.code).toBe(EXIT_OK);
    const { kld, utterances } = await results(run.outDir);
    if (!kld?.available) throw new Error('no token metrics');
    // The F32 GGUF holds the float weights bit for bit, but the reference's log-probabilities are
    // kept in float32 (as the base file stores them), 2^-24 relative off the candidate's float64
    // ones: at log-probabilities down to about −16 that moves a step's KLD by up to ~1e-6 nats.
    expect(kld.mean).toBeLessThan(1e-7);
    expect(kld.max).toBeLessThan(1e-6);
    expect(kld.top1Agreement).toBe(1);
    expect(Math.abs(kld.perplexityRatio - 1)).toBeLessThan(1e-6);
    expect(kld.steps).toBe(utterances.reduce((total, utterance) => total + utterance.tokenSteps!, 0));
    expect(utterances.every((utterance) => utterance.top1Agreement === 1)).toBe(true);
  }, 120_000);

  test('a Q4_0 candidate has a positive KLD, the same on every run, printed beside ΔWER', async () => {
    const [first, second] = [await demoRun(['--no-reuse'], ''), await demoRun(['--no-reuse'], '')];
    expect(first.code).toBe(EXIT_OK);
    const [a, b] = [await results(first.outDir), await results(second.outDir)];
    if (!a.kld?.available) throw new Error('no token metrics');
    expect(a.kld.mean).toBeGreaterThan(0);
    expect(a.kld.interval[0]).toBeLessThanOrEqual(a.kld.mean);
    expect(a.kld.interval[1]).toBeGreaterThanOrEqual(a.kld.mean);
    expect(a.kld.top1Agreement).toBeGreaterThan(0.9);
    expect(a.kld.top1Agreement).toBeLessThan(1);
    expect(b.kld).toEqual(a.kld);
    expect(a.tokenGates).toBeUndefined();
    expect(await readdir(first.outDir)).toContain('reference_base.bin');
  }, 120_000);

  test('--max-kld and --min-top1-agreement gate beside ΔWER, each with its own verdict', async () => {
    const strict = await demoRun(['--no-reuse', '--max-kld', '0.000001', '--min-top1-agreement', '0.5'], '');
    expect(strict.code).toBe(EXIT_GATE_FAILED);
    const comparison = await results(strict.outDir);
    expect(comparison.gate.verdict).toBe('pass');
    expect(comparison.tokenGates?.map((gate) => [gate.gate, gate.verdict])).toEqual([
      ['max-kld', 'fail'],
      ['min-top1-agreement', 'pass'],
    ]);
    const loose = await demoRun(['--no-reuse', '--max-kld', '10'], '');
    expect(loose.code).toBe(EXIT_OK);
  }, 120_000);

  test('the command engine has none: results say so, and --max-kld with it is an error saying why', async () => {
    const command = ['--engine', 'command', '--reference-command', 'true', '--candidate-command', 'true'];
    const refused = await demoRun([...command, '--max-kld', '0.1'], '');
    expect(refused.code).toBe(EXIT_ERROR);
    expect(refused.stderr).toMatch(/--max-kld needs token metrics, which the command engine cannot give/);
    expect(await readdir(refused.outDir)).toEqual([]);
  });
});

describe('the reference base', () => {
  test('--reference-base replaces the reference pass and gives the figures of a fresh run', async () => {
    const fresh = await demoRun(['--no-reuse'], '');
    const base = join(fresh.outDir, 'reference_base.bin');
    const reused = await demoRun(['--no-reuse', '--reference-base', base], '');
    expect(reused.code).toBe(EXIT_OK);
    expect(reused.stderr).toContain(`reference: taken from the reference base ${base}, not run`);
    expect(reused.stderr).not.toContain('transcribing (reference)');
    const [a, b] = [await results(fresh.outDir), await results(reused.outDir)];
    expect(b.kld).toEqual(a.kld);
    expect(b.reference).toEqual(a.reference);
    expect(b.delta.points).toBe(a.delta.points);
    expect(await readFile(join(reused.outDir, 'reference_base.bin'))).toEqual(await readFile(base));
  }, 120_000);

  test('an utterance whose audio fails is left out of the base, and fails the run that reuses it alike', async () => {
    const data = await makeTempDir();
    const lines = (await readFile(demoPaths().testset, 'utf8')).trim().split('\n').slice(0, 5);
    lines.splice(2, 0, JSON.stringify({ id: 'broken', audio: 'missing.flac', text: 'no audio here' }));
    const audioDir = join(demoPaths().testset, '..');
    const manifest = join(data, 'manifest.jsonl');
    await writeFile(
      manifest,
      `${lines.map((line) => line.replace(/"audio": "audio\//, `"audio": "${audioDir}/audio/`)).join('\n')}\n`,
    );
    const options = ['--no-reuse', '--dataset', manifest, '--max-failed-utterances', '1'];
    const fresh = await demoRun(options, '');
    expect(fresh.code).toBe(EXIT_OK);
    const base = join(fresh.outDir, 'reference_base.bin');
    const reused = await demoRun([...options, '--reference-base', base], '');
    expect(reused.code).toBe(EXIT_OK);
    const [a, b] = [await results(fresh.outDir), await results(reused.outDir)];
    expect(a.failedUtterances.map(({ id }) => id)).toEqual(['broken']);
    expect(b.failedUtterances.map(({ id }) => id)).toEqual(['broken']);
    expect(b.utteranceCount).toBe(5);
    expect(b.kld).toEqual(a.kld);
    expect(b.reference).toEqual(a.reference);
  }, 120_000);

  test('a base of another model or another selection is refused, naming what differs; a damaged one is one clean error', async () => {
    const fresh = await demoRun(['--no-reuse'], '');
    const base = join(fresh.outDir, 'reference_base.bin');
    const otherModel = await makeTempDir();
    await cp(demoPaths().model, otherModel, { recursive: true });
    await appendFile(join(otherModel, 'preprocessor_config.json'), '\n');
    const model = await demoRun(
      ['--no-reuse', '--model-path', otherModel, '--dataset', demoPaths().testset, '--reference-base', base],
      '',
    );
    expect(model.code).toBe(EXIT_ERROR);
    expect(model.stderr).toMatch(/the reference base .* was made for another model \(.*\); give the base/);

    const selection = await demoRun(['--no-reuse', '--max-samples', '11', '--reference-base', base], '');
    expect(selection.code).toBe(EXIT_ERROR);
    expect(selection.stderr).toMatch(
      /was made for another dataset selection \(.*12 utterances.*this run: .*11 utterances/,
    );

    const truncated = join(await makeTempDir(), 'reference_base.bin');
    await writeFile(truncated, (await readFile(base)).subarray(0, 5000));
    const damaged = await demoRun(['--no-reuse', '--reference-base', truncated], '');
    expect(damaged.code).toBe(EXIT_ERROR);
    expect(damaged.stderr).toMatch(/is not an intact reference base \(its checksum does not match/);
  }, 120_000);
});

describe('reuse', () => {
  test('a second run reuses both variants with the same figures; a changed --keep reuses the reference only', async () => {
    const cache = await makeTempDir();
    const first = await demoRun([], cache);
    expect(first.code).toBe(EXIT_OK);
    expect((await results(first.outDir)).run.reused).toEqual({ reference: false, candidate: false });

    const second = await demoRun([], cache);
    expect(second.code).toBe(EXIT_OK);
    expect(second.stderr).toMatch(/reference: reused \(key [0-9a-f]{12}…\)/);
    expect(second.stderr).toMatch(/candidate: reused \(key [0-9a-f]{12}…\)/);
    expect(second.stderr).not.toContain('transcribing');
    const [a, b] = [await results(first.outDir), await results(second.outDir)];
    expect(b.run.reused).toEqual({ reference: true, candidate: true });
    // Reused transcripts keep the timings measured when they were made.
    expect(figures(b, { timings: true })).toEqual(figures(a, { timings: true }));
    // The terminal report is the first run's, plus one line saying what was reused.
    const reusedLine = 'reference: reused results, candidate: reused results\n';
    expect(second.stdout).toContain(reusedLine);
    expect(second.stdout.replace(reusedLine, '')).toBe(first.stdout.replaceAll(first.outDir, second.outDir));
    expect(await readFile(join(second.outDir, 'reference_base.bin'))).toEqual(
      await readFile(join(first.outDir, 'reference_base.bin')),
    );

    const kept = await demoRun(['--keep', 'layers.0.*'], cache);
    expect(kept.code).toBe(EXIT_OK);
    expect(kept.stderr).toContain('reference: reused');
    // The candidate hears the audio the reference decoded, kept with it, instead of decoding the dataset.
    expect(kept.stderr).toMatch(/candidate: decoded audio of the reference reused \(key [0-9a-f]{12}…\)/);
    expect(kept.stderr).toContain('transcribing (candidate)');
    expect((await results(kept.outDir)).run.reused).toEqual({ reference: true, candidate: false });
    const fresh = await demoRun(['--keep', 'layers.0.*', '--no-reuse'], cache);
    expect(figures(await results(kept.outDir), { timings: false })).toEqual(
      figures(await results(fresh.outDir), { timings: false }),
    );
  }, 180_000);

  test('a damaged entry is detected, evaluated again and replaced; --no-reuse neither reads nor writes', async () => {
    const cache = await makeTempDir();
    const first = await demoRun([], cache);
    expect(first.code).toBe(EXIT_OK);
    const root = join(cache, 'quantgate', 'results');
    const entries = (await readdir(root, { recursive: true })).filter((path) => path.endsWith('results.json'));
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      const path = join(root, entry);
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replace(/"text":"[a-z]/, '"text":"X'));
    }
    const second = await demoRun([], cache);
    expect(second.code).toBe(EXIT_OK);
    expect(second.stderr).toMatch(
      /warning: the stored results [0-9a-f]{12}… are damaged \(results\.json does not match its sha256\); evaluating again and replacing them/,
    );
    expect((await results(second.outDir)).run.reused).toEqual({ reference: false, candidate: false });
    expect(figures(await results(second.outDir), { timings: false })).toEqual(
      figures(await results(first.outDir), { timings: false }),
    );
    const third = await demoRun([], cache);
    expect((await results(third.outDir)).run.reused).toEqual({ reference: true, candidate: true });

    const emptyCache = await makeTempDir();
    const off = await demoRun(['--no-reuse'], emptyCache);
    expect(off.code).toBe(EXIT_OK);
    expect(await readdir(emptyCache)).toEqual([]);
  }, 180_000);

  test('the same command again keeps the quantized output it finds; another setting or a damaged file writes it anew', async () => {
    const cache = await makeTempDir();
    const outDir = await makeTempDir();
    const again = (args: string[] = []) =>
      runCli(['run', ...SAMPLES, '--out-dir', outDir, ...args], { env: { XDG_CACHE_HOME: cache } });
    const gguf = join(outDir, 'quantgate-demo-q4.gguf');
    const keptLine = `quantized output in ${outDir} already holds this quantization (verified); kept as it is`;

    expect((await again()).code).toBe(EXIT_OK);
    const original = await readFile(gguf);
    const written = (await stat(gguf)).mtimeMs;
    const same = await again();
    expect(same.code).toBe(EXIT_OK);
    expect(same.stderr).toContain(keptLine);
    expect(same.stderr).not.toContain('quantizing');
    expect((await stat(gguf)).mtimeMs).toBe(written);

    const damaged = Buffer.from(original);
    damaged[damaged.length - 1] ^= 0xff;
    await writeFile(gguf, damaged);
    const repaired = await again();
    expect(repaired.code).toBe(EXIT_OK);
    expect(repaired.stderr).not.toContain(keptLine);
    expect(await readFile(gguf)).toEqual(original);

    const other = await again(['--keep', 'layers.0.*']);
    expect(other.code).toBe(EXIT_OK);
    expect(other.stderr).not.toContain(keptLine);
    expect(await readFile(gguf)).not.toEqual(original);
  }, 180_000);
});
