// Every reproducer the fuzzer (npm run fuzz) found, as a regression test: each input must be
// accepted or refused with one clean line, within the time and memory bounds. The inputs lie in
// test/fuzz/reproducers/. They run through the fuzzer's own child process (bundled here with
// esbuild), so a reproducer that hangs or aborts fails its test instead of taking jest down, and
// these tests check the harness's watchdog too.

import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Host } from '../../fuzz/host.js';
import { packParts } from '../../fuzz/mutators.js';
import { outcomeOf } from './outcome-of.js';

/** Reproducers too large to keep as files, made here. */
const GENERATED: Record<string, () => Uint8Array> = {
  'config-nested-6000-deep': () => new TextEncoder().encode(`${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}`),
  'transcripts-40000-words-each-side': () => {
    // Not number words: the Whisper normalizer would fold those into one number.
    const line = (words: string[]) =>
      new TextEncoder().encode(Array.from({ length: 40_000 }, (_, i) => words[i % 3]).join(' '));
    return packParts([line(['cat', 'dog', 'bird']), line(['fish', 'cow', 'hen'])]);
  },
  'manifest-array-nested-1000000-deep': () =>
    new TextEncoder().encode(
      '{"manifestVersion":1,"format":"single","files":[{"path":"model.gguf","size":672,"sha256":"1912a91d14d84c3b90273e0064e83e7a7bb802202eb60fd5bbeacd2023647ac7"}],"totalSize":672,"tensorCount":4,"source":{"repoId":"org/tiny","revision":' +
        '['.repeat(1_000_000),
    ),
};

const reproducer = async (name: string) => GENERATED[name]?.() ?? readFile(join('test', 'fuzz', 'reproducers', name));

/** [target, file, what it did before its fix]. */
const FIXED: [string, string, string][] = [
  [
    'jsonl',
    'jsonl-lone-cr.bin',
    "a lone CR in a manifest line: JSON.parse's message quoted it, and the error was two lines on a terminal",
  ],
  [
    'config',
    'config-nested-6000-deep',
    'config.json nested 6,000 deep: the recursive walk of gguf-metadata.ts overflows the stack',
  ],
  [
    'transcripts',
    'transcripts-40000-words-each-side',
    'one utterance of 40,000 words on each side: the alignment matrix is rows × columns',
  ],
  [
    'gguf',
    'gguf-q4-tensor-without-dimensions.bin',
    'a Q4_0 tensor with 0 dimensions: "gives tensor … undefined elements per row"',
  ],
  ['manifest', 'manifest-without-version.bin', 'a manifest without manifestVersion: "manifestVersion is undefined"'],
  [
    'manifest',
    'manifest-array-nested-1000000-deep',
    "a manifest whose revision is an array nested a million deep, cut short: JSON.parse refuses it in about 0.2 s of CPU, but the fuzzer's child, niced on a machine shared with other work, waited past the hang bound for a CPU (seed 90210417, input 29526)",
  ],
  [
    'parquet',
    'parquet-library-text-undefined.bin',
    "hyparquet's own text: \"Cannot read properties of undefined (reading 'map')\"",
  ],
  [
    'parquet',
    'parquet-bitpack-offset-nan.bin',
    'a page header without repetition_levels_byte_length: "bitpack offset NaN"',
  ],
  ['parquet', 'parquet-hang.bin', 'hyparquet spins forever'],
  ['tar', 'tar-checksum-nan.bin', 'a checksum field that is not octal: "checksum NaN"'],
  ['tar', 'tar-hang.bin', 'a size field that is not octal: the reader loops forever'],
  ['wav', 'wav-nan-samples-message.bin', 'float samples that are not numbers: the message says "NaN"'],
  ['hub', 'hub-revision-without-sha.bin', 'a revision answer without "sha": "(got undefined)"'],
  [
    'hub',
    'hub-undici-assertion.bin',
    "a chunked answer with more bytes after it: undici's parser throws an AssertionError outside any promise (uncaught)",
  ],
  [
    'hub',
    'hub-gzip-answer-cut-short-hang.bin',
    'a gzip-encoded chunked answer cut short: fetch never ends, past the stall timeout',
  ],
  [
    'zip',
    'zip-zip64-offset-past-end.bin',
    "a zip64 record pointing past the end of the file: yauzl's file reader passed the offset to fs.read, which threw outside any callback's handler",
  ],
  [
    'transcripts',
    'transcripts-long-whitespace-line.bin',
    "a 120,000-character line of tabs and spaces: Whisper's \\s+' expression backtracked over it for 13 s",
  ],
  [
    'hub',
    'hub-listing-not-json.bin',
    "a listing that is not JSON: @huggingface/hub's SyntaxError passes through callHub",
  ],
  [
    'hub',
    'hub-listing-not-a-list.bin',
    'a listing that is a JSON object: TypeError "items is not iterable" from @huggingface/hub',
  ],
  [
    'hub',
    'hub-empty-file-listed.bin',
    'a listed file of size 0: ENOENT opening its .incomplete file, which no transfer had created (a real empty file failed too)',
  ],
  [
    'hub',
    'hub-partial-answer-without-range.bin',
    'a file answered with 206 and no Content-Range: "resumed at the wrong offset (undefined, …)"',
  ],
  [
    'config',
    'config-array-nested-340000-deep.bin',
    'a config.json whose value is an array nested 340,000 deep and cut short',
  ],
];

let dir: string;
let childModule: string;
const hosts = new Map<string, Host>();

beforeAll(async () => {
  // Inside the checkout, so that the bundle finds node_modules.
  await mkdir('.fuzz', { recursive: true });
  dir = await mkdtemp(join('.fuzz', 'test-child-'));
  childModule = join(process.cwd(), dir, 'child.mjs');
  await build({
    entryPoints: ['fuzz/child.ts'],
    outfile: childModule,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'error',
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([...hosts.values()].map((host) => host.close()));
  await rm(dir, { recursive: true, force: true });
});

/** How the input ends in a fuzz child: within 5 s, a heap of 512 MiB. */
async function isolatedOutcome(target: string, input: Uint8Array): Promise<string> {
  if (!hosts.has(target))
    hosts.set(target, new Host(target, [input], 0, { timeoutMs: 5000, memoryMb: 512 }, childModule));
  const outcome = await hosts.get(target)!.check(input);
  return outcome.kind === 'accepted' || outcome.kind === 'clean'
    ? 'accepted or clean error'
    : `${outcome.kind}: ${outcome.signature}`;
}

describe('fuzz reproducers', () => {
  test.each(FIXED)('%s: %s (%s)', async (target, file) => {
    expect(await isolatedOutcome(target, await reproducer(file))).toBe('accepted or clean error');
  });
});

describe('the fuzz child', () => {
  test.each([
    ['self-test-hang', { timeoutMs: 1000, memoryMb: 128 }, /^hang$/],
    [
      'self-test-fatal',
      { timeoutMs: 60_000, memoryMb: 96 },
      /^abort: the process died \(SIG[A-Z]+\).*(heap|memory|invalid)/i,
    ],
    ['self-test-memory', { timeoutMs: 60_000, memoryMb: 96 }, /^abort: resident memory passed 448 MiB$/],
  ] as const)('%s: caught, and the harness lives on', async (target, bounds, expected) => {
    const host = new Host(target, [], 0, bounds, childModule);
    try {
      const outcome = await host.check(new Uint8Array(0));
      expect(`${outcome.kind}: ${outcome.signature}`.replace(/^hang: hang$/, 'hang')).toMatch(expected);
    } finally {
      await host.close();
    }
  });

  test('reports a hang when an input runs past the bound, and the next input runs in a fresh child', async () => {
    const host = new Host('self-test-hang', [], 0, { timeoutMs: 1000, memoryMb: 256 }, childModule);
    try {
      expect(await host.check(new Uint8Array(0))).toMatchObject({ kind: 'hang' });
      expect(await host.check(new Uint8Array(1))).toMatchObject({ kind: 'hang' });
    } finally {
      await host.close();
    }
  });

  test('in-process and isolated outcomes agree on a crash', async () => {
    const input = new Uint8Array(0);
    expect((await outcomeOf('self-test-crash', input)).kind).toBe('crash');
    expect(await isolatedOutcome('self-test-crash', input)).toMatch(/^crash: TypeError/);
  });
});
