import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';

afterAll(removeTempDirs);

const committed = readFileSync(join(repoRoot, 'src', 'quant', 'kernel-wasm.ts'), 'utf8');
const builtWith = /^\/\/ Compiler: (.*)$/m.exec(committed)?.[1];
const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
const localCompiler = clang.status === 0 ? clang.stdout.split('\n')[0] : undefined;

// The module's bytes depend on the compiler version, so the check runs where the same compiler is
// installed (the developers' machines) and is skipped elsewhere.
(localCompiler !== undefined && localCompiler === builtWith ? test : test.skip)(
  `the committed kernel-wasm.ts is exactly what scripts/build-wasm.sh builds from kernel.c (${builtWith})`,
  async () => {
    const output = join(await makeTempDir(), 'kernel-wasm.ts');
    const build = spawnSync('bash', [join(repoRoot, 'scripts', 'build-wasm.sh'), output], { encoding: 'utf8' });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    expect(readFileSync(output, 'utf8') === committed).toBe(true);
  },
);
