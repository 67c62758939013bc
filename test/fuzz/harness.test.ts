import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { QuantgateError } from '../../src/common/errors.js';
import { runQueueWaits, starvedInInterval } from '../../fuzz/host.js';
import { inputAt } from '../../fuzz/inputs.js';
import { packParts, unpackParts } from '../../fuzz/mutators.js';
import { classify, sameFailure } from '../../fuzz/outcome.js';
import { messageProblem } from '../../fuzz/target.js';
import { TARGETS } from '../../fuzz/targets/index.js';
import { outcomeOf } from './outcome-of.js';

const text = (value: string) => new TextEncoder().encode(value);

describe('inputAt', () => {
  const seeds = [text('{"a": [1, 2, {"b": "c"}], "d": 12345}'), text('{"x": null}')];

  test('starts with the seeds, then gives the same mutants for the same seed on every call', () => {
    expect(inputAt(seeds, 'json', 1, 't', 0)).toBe(seeds[0]);
    const first = Array.from({ length: 200 }, (_, i) =>
      Buffer.from(inputAt(seeds, 'json', 1, 't', i + 2)).toString('base64'),
    );
    const again = Array.from({ length: 200 }, (_, i) =>
      Buffer.from(inputAt(seeds, 'json', 1, 't', i + 2)).toString('base64'),
    );
    expect(again).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(150);
  });

  test('another seed or another target gives other mutants', () => {
    const of = (runSeed: number, target: string) =>
      Array.from({ length: 50 }, (_, i) =>
        Buffer.from(inputAt(seeds, 'json', runSeed, target, i + 2)).toString('base64'),
      ).join();
    expect(of(2, 't')).not.toEqual(of(1, 't'));
    expect(of(1, 'u')).not.toEqual(of(1, 't'));
  });

  test('structure-aware JSON mutations keep most inputs valid JSON, byte mutations break some', () => {
    let valid = 0;
    for (let i = 2; i < 402; i++) {
      try {
        JSON.parse(new TextDecoder().decode(inputAt(seeds, 'json', 3, 't', i)));
        valid++;
      } catch {
        // a byte mutation
      }
    }
    expect(valid).toBeGreaterThan(100);
    expect(valid).toBeLessThan(400);
  });

  test('tar mutations rewrite header fields and keep the checksum right most of the time', () => {
    const header = new Uint8Array(1024);
    header.set(text('file.txt'), 0);
    header.set(text('0000644\0'), 100);
    header.set(text('00000000012\0'), 124);
    const mutants = Array.from({ length: 100 }, (_, i) => inputAt([header], 'tar', 4, 'tar', i + 1));
    expect(mutants.some((mutant) => new TextDecoder().decode(mutant.subarray(124, 136)).startsWith('zzz'))).toBe(true);
  });
});

describe('packParts', () => {
  test('round-trips, and reads a damaged container leniently', () => {
    const parts = [text('one'), new Uint8Array(0), text('three')];
    expect(unpackParts(packParts(parts), 8).map((part) => new TextDecoder().decode(part))).toEqual([
      'one',
      '',
      'three',
    ]);
    const damaged = packParts(parts).subarray(0, 12);
    expect(unpackParts(damaged, 8).length).toBeLessThanOrEqual(3);
    expect(unpackParts(new Uint8Array([255, 255, 255, 255, 9, 9]), 8).length).toBeLessThanOrEqual(1);
  });
});

describe('classify', () => {
  test('a QuantgateError with one clean line is a clean error', () => {
    expect(classify(new QuantgateError('model.gguf is cut short; download it again'), '/tmp/x').kind).toBe('clean');
  });

  test('a QuantgateError that shows internals, or any other error, is a crash', () => {
    for (const message of ['tensor w has undefined elements', 'ratio NaN× its step', 'got [object Object]']) {
      expect(classify(new QuantgateError(message), '/tmp/x')).toMatchObject({ kind: 'crash' });
    }
    expect(classify(new TypeError("Cannot read properties of undefined (reading 'map')"), '/tmp/x').signature).toMatch(
      /^TypeError thrown at /,
    );
    expect(classify('a string', '/tmp/x').kind).toBe('crash');
  });

  test('a message is one line: no CR, LF or line separator', () => {
    expect(messageProblem('a\rb')).toBe('spans several lines');
    expect(messageProblem('a\u2028b')).toBe('spans several lines');
    expect(messageProblem('fine; fix it')).toBeUndefined();
  });

  test('the same error thrown at the same place is one failure, whatever the input it echoes', () => {
    const thrower = (name: string) => {
      try {
        throw new TypeError(`tensor ${name} is not iterable`);
      } catch (error) {
        return classify(error, '/tmp/x');
      }
    };
    expect(sameFailure(thrower('a.weight'), thrower('zz9'))).toBe(true);
  });
});

describe('targets', () => {
  test('names are unique', () => {
    expect(new Set(TARGETS.map((target) => target.name)).size).toBe(TARGETS.length);
  });

  test.each(TARGETS.map((target) => [target.name]))('%s: every seed is accepted or refused cleanly', async (name) => {
    const target = TARGETS.find((candidate) => candidate.name === name)!;
    const seeds = await target.seeds();
    expect(seeds.length).toBeGreaterThan(0);
    for (const seed of seeds) {
      const outcome = await outcomeOf(name, seed);
      expect(outcome.kind === 'crash' ? outcome.signature : outcome.kind).toMatch(/^(accepted|clean)$/);
    }
  });

  test('the seeds of most targets are accepted, so mutants reach past the first checks', async () => {
    for (const name of [
      'safetensors',
      'gguf',
      'gguf-split',
      'byte-shards',
      'manifest',
      'parquet',
      'flac',
      'wav',
      'transcripts',
      'tar',
      'zip',
      'hub',
    ]) {
      const [seed] = await TARGETS.find((target) => target.name === name)!.seeds();
      expect([name, (await outcomeOf(name, seed!)).kind]).toEqual([name, 'accepted']);
    }
  });
});

describe("the hang bound leaves out a child's wait for a CPU", () => {
  test("per interval: the largest growth of one process's wait, at most the interval", () => {
    const before = new Map([
      [1, 100],
      [2, 50],
    ]);
    // Process 3 is new: its wait so far happened before it was seen.
    expect(
      starvedInInterval(
        before,
        new Map([
          [1, 130],
          [2, 90],
          [3, 500],
        ]),
        50,
      ),
    ).toBe(40);
    expect(starvedInInterval(before, new Map([[1, 300]]), 50)).toBe(50);
    expect(starvedInInterval(before, new Map(), 50)).toBe(0);
  });

  const linux = existsSync('/proc/self/schedstat') && existsSync('/usr/bin/taskset') ? test : test.skip;
  linux("reads the waits of a process's descendants from /proc: a niced spinner sharing a CPU waits", async () => {
    // Two spinners on one CPU, one at the lowest priority: it waits for most of their time.
    const spin = 'const end = Date.now() + 1500; while (Date.now() < end);';
    const spinners = [
      spawn('taskset', ['-c', '0', process.execPath, '-e', spin]),
      spawn('taskset', ['-c', '0', 'nice', '-n', '19', process.execPath, '-e', spin]),
    ];
    const exited = spinners.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = runQueueWaits(process.pid);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const after = runQueueWaits(process.pid);
    await Promise.all(exited);
    expect(after.get(process.pid)).toBeDefined();
    expect(after.size).toBeGreaterThanOrEqual(3);
    expect(starvedInInterval(before, after, 700)).toBeGreaterThan(350);
  });
});
