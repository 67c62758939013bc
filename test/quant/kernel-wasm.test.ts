import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceType, TargetType } from '../../src/quant/codec.js';
import { createConvertPool, type ConvertPool } from '../../src/quant/pool.js';
import { fixture, makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';
import { difference, every16BitPattern, f32Bytes, randomBytes, stressBlocks } from './kernel-vectors.js';

// scripts/build-wasm.sh must rebuild the committed kernel from kernel.c wherever clang and lld for
// wasm32 are installed. A rebuilt kernel must convert exactly as the committed one; the module's
// bytes are compared too where the compiler is the one named in kernel-wasm.ts (.ci/run installs
// that one, Debian bookworm's clang-14 and lld-14), since other compiler versions emit other code.

const committedSource = readFileSync(join(repoRoot, 'src', 'quant', 'kernel-wasm.ts'), 'utf8');
const compilerOf = (source: string) => /^\/\/ Compiler: (.*)$/m.exec(source)?.[1];
const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
const haveClang = clang.status === 0;

/** The module bytes of a generated kernel-wasm.ts: its base64 string literals, joined. */
function wasmBytes(source: string): Uint8Array {
  const base64 = [...source.matchAll(/^\s*'([A-Za-z0-9+/=]*)'/gm)].map((match) => match[1]).join('');
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

afterAll(removeTempDirs);

(haveClang ? describe : describe.skip)('the kernel rebuilt from kernel.c by scripts/build-wasm.sh', () => {
  let rebuiltSource: string;
  let committed: ConvertPool;
  let rebuilt: ConvertPool;

  beforeAll(async () => {
    const output = join(await makeTempDir(), 'kernel-wasm.ts');
    const build = spawnSync('bash', [join(repoRoot, 'scripts', 'build-wasm.sh'), output], { encoding: 'utf8' });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    rebuiltSource = readFileSync(output, 'utf8');
    committed = createConvertPool({ threads: 1, kernelWasm: wasmBytes(committedSource) });
    rebuilt = createConvertPool({ threads: 1, kernelWasm: wasmBytes(rebuiltSource) });
  });
  afterAll(async () => {
    await committed?.close();
    await rebuilt?.close();
  });

  test('converts every input exactly as the committed kernel does', async () => {
    const inputs: [SourceType, Uint8Array][] = [
      ['F32', new Uint8Array(readFileSync(fixture('quant', 'input.f32')))],
      ['F32', f32Bytes(stressBlocks(4_000, 11))],
      ['F16', every16BitPattern()],
      ['BF16', every16BitPattern()],
      ['BF16', randomBytes(1 << 16, 12)],
    ];
    for (const [source, bytes] of inputs) {
      for (const target of ['Q4_0', 'Q8_0', 'F16', 'F32'] as TargetType[]) {
        const want = await committed.convert({ source, target, bytes: bytes.slice() });
        const got = await rebuilt.convert({ source, target, bytes: bytes.slice() });
        expect({ source, target, difference: difference(target, got.data, want.data) }).toEqual({
          source,
          target,
          difference: 'identical',
        });
        expect(got.firstNonFinite).toBe(want.firstNonFinite);
      }
    }
  });

  test('is byte for byte the committed module when built by the same compiler', () => {
    const compiler = compilerOf(rebuiltSource);
    if (compiler !== compilerOf(committedSource)) {
      // Another clang emits other (equivalent) code; the test above has checked what matters.
      expect(compiler).toBeDefined();
      return;
    }
    expect(rebuiltSource === committedSource).toBe(true);
  });
});
