// SIGTERM and SIGINT stop the built CLI (bin/quantgate.js over lib/) at every stage within 2 s:
// exit code 143 or 130, one line naming the signal and the stage, and no temp file left in the
// output folder or the temp folder. Each stage is made slow from outside: a Hub whose body stalls,
// a model big enough to take seconds to quantize, an engine command that sleeps.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeEvaluationFixture, type EvaluationFixture } from '../action/evaluation-fixture.js';
import { makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';
import { FakeHub } from '../servers/fake-hub.js';

const bin = join(repoRoot, 'bin', 'quantgate.js');
/** The promise: stopped within 2 s of the signal. */
const STOP_LIMIT_MS = 2000;

interface StoppedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From the signal to the process's exit. */
  stoppedAfterMs: number;
}

/**
 * Runs the CLI with `args` and TMPDIR set to `tempDir`, sends `signal` once `ready` holds (checked
 * on every output and every 20 ms), and resolves when the process has exited.
 */
function runUntilStopped(
  args: string[],
  options: {
    tempDir: string;
    env?: Record<string, string>;
    signal: NodeJS.Signals;
    ready: (log: { stdout: string; stderr: string }) => boolean;
  },
): Promise<StoppedRun> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH, HOME: options.tempDir, TMPDIR: options.tempDir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = { stdout: '', stderr: '' };
  let signalledAt: number | undefined;
  const check = () => {
    if (signalledAt === undefined && options.ready(log)) {
      signalledAt = performance.now();
      child.kill(options.signal);
    }
  };
  child.stdout.on('data', (chunk: Buffer) => ((log.stdout += chunk.toString()), check()));
  child.stderr.on('data', (chunk: Buffer) => ((log.stderr += chunk.toString()), check()));
  const poll = setInterval(check, 20);
  // A run that ignores the signal must fail the test, not hang it.
  const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(poll);
      clearTimeout(deadline);
      if (signalledAt === undefined)
        return reject(new Error(`the run ended (code ${code}) before it was ready to be stopped:\n${log.stderr}`));
      resolve({ code, ...log, stoppedAfterMs: performance.now() - signalledAt });
    });
  });
}

/** Every temp file or folder quantgate makes, anywhere under `dir`. */
async function leftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (/^\..+\.tmp-\d+-[0-9a-f]+$/.test(entry.name) || /^quantgate-(command|graph)-/.test(entry.name))
      found.push(join(entry.parentPath, entry.name));
  }
  return found;
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').pop() ?? '';
}

function expectStopped(run: StoppedRun, signal: 'SIGINT' | 'SIGTERM', command: string, stage: string): void {
  expect(lastLine(run.stderr)).toBe(
    `quantgate ${command}: stopped by ${signal} during the ${stage} stage; no partial file was left behind`,
  );
  expect(run.code).toBe(signal === 'SIGINT' ? 130 : 143);
  expect(run.stoppedAfterMs).toBeLessThan(STOP_LIMIT_MS);
  expect(run.stderr).not.toContain('unexpected error');
}

let fixture: EvaluationFixture;
let fixtureDir: string;

beforeAll(async () => {
  fixtureDir = await makeTempDir('quantgate-stop-');
  fixture = await makeEvaluationFixture(fixtureDir);
});

afterAll(removeTempDirs);

describe('a stopped command', () => {
  test('download: SIGTERM while a body stalls closes the connection; the partial blob stays to resume', async () => {
    const hub = await FakeHub.start();
    try {
      hub.createRepo('org/slow');
      const weights = Buffer.alloc(4 << 20, 7);
      await hub.commit('org/slow', [
        { path: 'config.json', content: '{}' },
        { path: 'model.safetensors', content: weights },
      ]);
      hub.fault({ path: 'model.safetensors', kind: 'stall', afterBytes: 256 << 10 });
      const tempDir = await makeTempDir();
      const cacheDir = join(tempDir, 'hf-cache');
      const run = await runUntilStopped(
        ['download', '--model-id', 'org/slow', '--hub-url', hub.url, '--cache-dir', cacheDir],
        {
          tempDir,
          signal: 'SIGTERM',
          ready: () => hub.bytesServed >= 256 << 10,
        },
      );
      expectStopped(run, 'SIGTERM', 'download', 'download');
      expect(await leftovers(tempDir)).toEqual([]);
      const blobs = join(cacheDir, 'models--org--slow', 'blobs');
      const partial = (await readdir(blobs)).filter((name) => name.endsWith('.incomplete'));
      expect(partial).toHaveLength(1);
      expect((await stat(join(blobs, partial[0]!))).size).toBeGreaterThan(0);
    } finally {
      await hub.close();
    }
  });

  test('quantize: SIGTERM stops the workers and removes the half-written GGUF', async () => {
    const tempDir = await makeTempDir();
    const modelDir = await writeSparseModel(join(tempDir, 'model'));
    const outDir = join(tempDir, 'out');
    const run = await runUntilStopped(['quantize', '--model', modelDir, '--out', `${outDir}/`, '--threads', '1'], {
      tempDir,
      signal: 'SIGTERM',
      // The plan is printed just before the first tensor is converted.
      ready: ({ stdout }) => stdout.includes('big.weight'),
    });
    expectStopped(run, 'SIGTERM', 'quantize', 'quantize');
    expect(await leftovers(tempDir)).toEqual([]);
    expect(await readdir(outDir).catch(() => [])).toEqual([]);
  });

  test('run: SIGTERM during transcription ends the engine command and its scratch folder', async () => {
    const tempDir = await makeTempDir();
    const outDir = join(tempDir, 'out');
    const run = await runUntilStopped(
      [
        'run',
        '--model-path',
        fixture.modelDir,
        '--dataset',
        fixture.manifest,
        '--engine',
        'command',
        ...commandOptions(),
        '--out-dir',
        outDir,
        '--resamples',
        '1000',
      ],
      {
        tempDir,
        env: slowEngine(tempDir),
        signal: 'SIGTERM',
        ready: () => existsSync(started(tempDir)) && enginesStillRunning().length > 0,
      },
    );
    expectStopped(run, 'SIGTERM', 'run', 'reference');
    expect(await leftovers(tempDir)).toEqual([]);
    // The quantize stage had finished; no results were written.
    expect((await readdir(outDir)).filter((name) => name.startsWith('eval_results'))).toEqual([]);
    expect(enginesStillRunning()).toEqual([]);
  });

  test('transcribe: SIGINT (Ctrl-C) stops a slow engine with exit code 130', async () => {
    const tempDir = await makeTempDir();
    const audio = join(fixtureDir, 'data', 'audio', 'utt-00.wav');
    const run = await runUntilStopped(
      ['transcribe', '--model', fixture.modelDir, '--engine', 'command', ...commandOptions(), audio],
      {
        tempDir,
        env: slowEngine(tempDir),
        signal: 'SIGINT',
        ready: () => existsSync(started(tempDir)) && enginesStillRunning().length > 0,
      },
    );
    expectStopped(run, 'SIGINT', 'transcribe', 'transcribe');
    expect(await leftovers(tempDir)).toEqual([]);
    expect(enginesStillRunning()).toEqual([]);
  });

  test('wer: SIGTERM during a million bootstrap resamples of a test-clean-sized corpus', async () => {
    const tempDir = await makeTempDir();
    const lines = (errorEvery: number) =>
      Array.from(
        { length: 2620 },
        (_, i) =>
          `u${i}\t${Array.from({ length: 20 }, (__, w) => ((i + w) % errorEvery === 0 ? 'wrong' : `w${w}`)).join(' ')}`,
      ).join('\n');
    const [reference, hypothesis, baseline] = ['reference.txt', 'hypothesis.txt', 'baseline.txt'].map((name) =>
      join(tempDir, name),
    );
    await writeFile(hypothesis!, lines(7));
    await writeFile(baseline!, lines(11));
    // The reference comes through a pipe, so the test knows when the command is reading its input
    // (in the score stage, listening for signals); scoring it takes tens of seconds.
    execFileSync('mkfifo', [reference!]);
    let fed = false;
    const feeding = writeFile(reference!, lines(1e9)).then(() => (fed = true));
    const run = await runUntilStopped(
      [
        'wer',
        '--reference',
        reference!,
        '--hypothesis',
        hypothesis!,
        '--baseline',
        baseline!,
        '--resamples',
        '1000000',
      ],
      {
        tempDir,
        signal: 'SIGTERM',
        ready: () => fed,
      },
    );
    await feeding;
    expectStopped(run, 'SIGTERM', 'wer', 'score');
    expect(run.stdout).toBe('');
  });

  test('an engine that ignores SIGTERM is killed and the run still ends within 2 s', async () => {
    const tempDir = await makeTempDir();
    const stubborn = join(tempDir, 'stubborn.sh');
    // Ignores SIGTERM in the shell and in its child.
    await writeFile(stubborn, `trap '' TERM\necho $$ > '${started(tempDir)}'\nsleep 60 & wait $!\nwait $!\n`);
    const command = `/bin/sh '${stubborn}' {manifest} {output} ${fixtureDir}`;
    const run = await runUntilStopped(
      [
        'run',
        '--model-path',
        fixture.modelDir,
        '--dataset',
        fixture.manifest,
        '--engine',
        'command',
        '--reference-command',
        command,
        '--candidate-command',
        command,
        '--out-dir',
        join(tempDir, 'out'),
      ],
      {
        tempDir,
        signal: 'SIGTERM',
        ready: () => existsSync(started(tempDir)) && enginesStillRunning(stubborn).length > 0,
      },
    );
    expectStopped(run, 'SIGTERM', 'run', 'reference');
    expect(await leftovers(tempDir)).toEqual([]);
    expect(enginesStillRunning(stubborn)).toEqual([]);
  });
});

/** The fake engine sleeps a minute per call, and says when it has started. */
function slowEngine(tempDir: string): Record<string, string> {
  return { FAKE_STT_DELAY_MS: '60000', FAKE_STT_STARTED: started(tempDir) };
}

function started(tempDir: string): string {
  return join(tempDir, 'engine-started');
}

function commandOptions(): string[] {
  const { 'reference-command': reference, 'candidate-command': candidate } = fixture.commands(0);
  return ['--reference-command', reference, '--candidate-command', candidate];
}

/** Processes of this suite's engine commands still alive (Linux's /proc): a stopped run must leave none. */
function enginesStillRunning(marker = fixtureDir): string[] {
  const commandLines = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return ''; // gone meanwhile
      }
    });
  return commandLines.filter((line) => line.includes(marker));
}

/**
 * A safetensors model of one F32 weight of 2 GiB, all zeros, written as a sparse file: it costs no
 * disk, yet converting it takes seconds, so a signal lands while the workers convert.
 */
async function writeSparseModel(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const shape = [16384, 32768];
  const bytes = shape[0]! * shape[1]! * 4;
  let header = JSON.stringify({ 'big.weight': { dtype: 'F32', shape, data_offsets: [0, bytes] } });
  header = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const file = await open(join(dir, 'model.safetensors'), 'w');
  try {
    await file.write(Buffer.concat([length, Buffer.from(header)]));
    await file.truncate(8 + header.length + bytes);
  } finally {
    await file.close();
  }
  return dir;
}
