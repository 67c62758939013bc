import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR, EXIT_GATE_FAILED, EXIT_OK } from '../../../src/cli/command.js';
import { runCli } from '../../helpers/cli.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';

afterAll(removeTempDirs);

const run = (args: string[]) => runCli(['wer', ...args]);

async function files(contents: Record<string, string>): Promise<Record<string, string>> {
  const dir = await makeTempDir();
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(contents)) {
    paths[name] = join(dir, name);
    await writeFile(paths[name]!, content);
  }
  return paths;
}

// Ten utterances of ten words: 100 reference words, so each word error is one point.
const letters = 'abcdefghij';
const reference = Array.from({ length: 10 }, (_, i) =>
  Array.from({ length: 10 }, (__, w) => `word${letters[i]}${letters[w]}`).join(' '),
);
const withErrors = (errors: number) =>
  reference
    .map((line, i) =>
      line
        .split(' ')
        .map((word, w) => (i * 10 + w < errors ? 'wrong' : word))
        .join(' '),
    )
    .join('\n');

describe('quantgate wer', () => {
  test('prints corpus WER with S/D/I and the word count, after normalization', async () => {
    const paths = await files({ 'ref.txt': 'Hello, World!\nThe cat sat.\n', 'hyp.txt': 'hello world\nthe cat\n' });
    const { code, stdout } = await run(['--reference', paths['ref.txt']!, '--hypothesis', paths['hyp.txt']!]);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toBe('WER 20.00% (S 0, D 1, I 0; 5 words in 2 utterances, whisper normalizer)\n');
  });

  test('--json prints the same as JSON, with dropped empty references', async () => {
    const paths = await files({
      'ref.jsonl': '{"id":"a","text":"the cat sat"}\n{"id":"b","text":"  "}\n',
      'hyp.jsonl': '{"id":"b","text":"noise"}\n{"id":"a","text":"the bat sat down"}\n',
    });
    const { code, stdout } = await run([
      '--reference',
      paths['ref.jsonl']!,
      '--hypothesis',
      paths['hyp.jsonl']!,
      '--normalizer',
      'none',
      '--json',
    ]);
    expect(code).toBe(EXIT_OK);
    expect(JSON.parse(stdout)).toEqual({
      normalizer: 'none',
      utteranceCount: 1,
      droppedEmptyIds: ['b'],
      substitutions: 1,
      deletions: 0,
      insertions: 1,
      hits: 2,
      referenceWords: 3,
      werPercent: (100 * 2) / 3,
    });
  });

  test('with --baseline: prints ΔWER, interval and verdict; exactly at the threshold passes, beyond it exits 1', async () => {
    const paths = await files({
      'ref.txt': reference.join('\n'),
      'base.txt': withErrors(1),
      'at.txt': withErrors(3),
      'over.txt': withErrors(4),
    });
    const passing = await run([
      '--reference',
      paths['ref.txt']!,
      '--baseline',
      paths['base.txt']!,
      '--hypothesis',
      paths['at.txt']!,
    ]);
    expect(passing.code).toBe(EXIT_OK);
    expect(passing.stdout).toContain('ΔWER +2.00 points, 95% interval [');
    expect(passing.stdout).toContain('PASS (point mode, threshold 2.00 points)');
    const failing = await run([
      '--reference',
      paths['ref.txt']!,
      '--baseline',
      paths['base.txt']!,
      '--hypothesis',
      paths['over.txt']!,
    ]);
    expect(failing.code).toBe(EXIT_GATE_FAILED);
    expect(failing.stdout).toContain(
      'FAIL (point mode, threshold 2.00 points): ΔWER +3.00 points exceeds the 2.00-point threshold',
    );
  });

  test('gate and bootstrap options reach the comparison; --json leaves out the per-utterance records', async () => {
    const paths = await files({ 'ref.txt': reference.join('\n'), 'base.txt': withErrors(0), 'hyp.txt': withErrors(4) });
    const args = [
      '--reference',
      paths['ref.txt']!,
      '--baseline',
      paths['base.txt']!,
      '--hypothesis',
      paths['hyp.txt']!,
    ];
    // All four errors sit in one utterance, so ΔWER is 4 points but its interval reaches far above 5.
    const strict = await run([
      ...args,
      '--threshold',
      '5',
      '--gate-mode',
      'strict',
      '--seed',
      '3',
      '--resamples',
      '500',
      '--json',
    ]);
    const summary = JSON.parse(strict.stdout);
    expect(summary).toMatchObject({
      wordCount: 100,
      delta: { points: 4, seed: 3, resamples: 500 },
      gate: { mode: 'strict', thresholdPoints: 5, verdict: 'fail' },
    });
    expect(summary.delta.high).toBeGreaterThan(5);
    expect(summary.utterances).toBeUndefined();
    expect(strict.code).toBe(EXIT_GATE_FAILED);
    expect((await run([...args, '--threshold', '5'])).code).toBe(EXIT_OK);
  });

  test('bad arguments and mismatched files are one-line errors', async () => {
    const paths = await files({ 'ref.txt': 'a\nb\n', 'short.txt': 'a\n' });
    const failure = (message: string) => ({ code: EXIT_ERROR, stdout: '', stderr: `quantgate wer: ${message}\n` });
    expect(await run(['--reference', paths['ref.txt']!])).toEqual(failure('--hypothesis is required; see --help'));
    expect(
      await run(['--reference', paths['ref.txt']!, '--hypothesis', paths['ref.txt']!, '--threshold', '1']),
    ).toEqual(failure('--threshold applies to a comparison and needs --baseline <file>; see --help'));
    expect(
      await run(['--reference', paths['ref.txt']!, '--hypothesis', paths['ref.txt']!, '--normalizer', 'klingon']),
    ).toEqual(failure('--normalizer must be one of whisper, basic, none, got "klingon"'));
    expect(await run(['--reference', paths['ref.txt']!, '--hypothesis', paths['short.txt']!])).toEqual(
      failure(
        `${paths['short.txt']} has 1 utterances but ${paths['ref.txt']} has 2, so ${paths['ref.txt']} line 2 has no counterpart; without ids on every line (JSON Lines), files pair line by line and need the same count`,
      ),
    );
    expect(
      await run([
        '--reference',
        paths['ref.txt']!,
        '--hypothesis',
        paths['ref.txt']!,
        '--baseline',
        paths['ref.txt']!,
        '--gate-mode',
        'loose',
      ]),
    ).toEqual(failure('--gate-mode must be one of point, lenient, strict, got "loose"'));
  });
});
