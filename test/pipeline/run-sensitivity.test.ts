// `quantgate run --sensitivity` on the embedded demo model: a failing run (threshold 0) ranks the
// tensors after the gate and keeps the top 10 in eval_results.json, eval_results.txt, the terminal
// and the job summary, with the verdict and exit code it had anyway; a passing run with the
// default on-failure computes nothing; `never` computes nothing; `always` with the command engine
// is a one-line error.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_GATE_FAILED, EXIT_OK } from '../../src/cli/command.js';
import { renderMarkdownSummary } from '../../src/report/markdown.js';
import { readEvalResults } from '../../src/report/results-files.js';
import type { SensitivitySummary } from '../../src/scoring/types.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir, removeTempDirs } from '../helpers/paths.js';

afterAll(removeTempDirs);

/** The demo job on its first 16 utterances (where Q4_0 costs a few words), results kept apart. */
async function demoRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string; outDir: string }> {
  const outDir = await makeTempDir();
  const run = await runCli(['run', '--max-samples', '16', '--no-reuse', '--out-dir', outDir, ...args]);
  return { ...run, outDir };
}

describe('run --sensitivity', () => {
  test('a failing run keeps the top 10 groups in its results and summaries, and still fails', async () => {
    const run = await demoRun(['--threshold', '0']);
    expect({ code: run.code, error: run.stderr.match(/quantgate run: .*/)?.[0] }).toEqual({ code: EXIT_GATE_FAILED });
    const json = JSON.parse(await readFile(join(run.outDir, 'eval_results.json'), 'utf8'));
    expect(json.gate.verdict).toBe('fail');
    const sensitivity = json.sensitivity as SensitivitySummary;
    expect(sensitivity).toMatchObject({
      method: 'fast',
      metric: 'output-error',
      grouping: 'tensor',
      quantType: 'q4_0',
      calibrationUtterances: 16,
      groups: 20,
    });
    expect(sensitivity.top.map((group) => group.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const scores = sensitivity.top.map((group) => group.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(scores.every((score) => score > 0)).toBe(true);
    expect(json.run.stageSeconds.sensitivity).toBeGreaterThan(0);

    const first = sensitivity.top[0]!.group;
    const last = sensitivity.top[9]!.group;
    const title = /Most sensitive tensors \(sensitivity --method fast, tensor groups\): the first 10 of 20/;
    const text = await readFile(join(run.outDir, 'eval_results.txt'), 'utf8');
    for (const shown of [text, run.stdout]) {
      expect(shown).toMatch(title);
      expect(shown).toMatch(new RegExp(`\\n\\s+1  ${first.replace(/\./g, '\\.')}\\s`));
      expect(shown).toMatch(new RegExp(`\\n\\s+10  ${last.replace(/\./g, '\\.')}\\s`));
    }
    const summary = renderMarkdownSummary(await readEvalResults(join(run.outDir, 'eval_results.json')));
    expect(summary).toMatch(title);
    expect(summary).toContain(`| 1 | \`${first}\` |`);
    expect(summary).toContain(`| 10 | \`${last}\` |`);
  }, 120_000);

  test('a passing run with the default on-failure, and a failing one with never, compute nothing', async () => {
    const passing = await demoRun(['--threshold', '100']);
    expect(passing.code).toBe(EXIT_OK);
    const never = await demoRun(['--threshold', '0', '--sensitivity', 'never']);
    expect(never.code).toBe(EXIT_GATE_FAILED);
    for (const run of [passing, never]) {
      const json = JSON.parse(await readFile(join(run.outDir, 'eval_results.json'), 'utf8'));
      expect(json.sensitivity).toBeUndefined();
      expect(json.run.stageSeconds.sensitivity).toBeUndefined();
      expect(run.stdout).not.toMatch(/Most sensitive/);
      expect(renderMarkdownSummary(await readEvalResults(join(run.outDir, 'eval_results.json')))).not.toMatch(
        /Most sensitive/,
      );
    }
  }, 120_000);

  test('always with the command engine is a one-line error; a bad value is one too', async () => {
    const command = await runCli([
      'run',
      '--engine',
      'command',
      '--reference-command',
      'stt {manifest} {output}',
      '--candidate-command',
      'stt {gguf} {manifest} {output}',
      '--sensitivity',
      'always',
    ]);
    expect(command.code).toBe(EXIT_ERROR);
    expect(command.stderr).toMatch(/^quantgate run: --sensitivity always ranks .* command engine cannot show/);
    expect(command.stderr.trim().split('\n')).toHaveLength(1);

    const bad = await runCli(['run', '--sensitivity', 'sometimes']);
    expect(bad.code).toBe(EXIT_ERROR);
    expect(bad.stderr).toMatch(/--sensitivity.*on-failure, always, never/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
