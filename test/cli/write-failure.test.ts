// A write that fails midway (here: the file-size limit of `ulimit -f`, which makes write() fail
// with EFBIG once SIGXFSZ is ignored) must end in one line on stderr, exit code 2 and no output.
// This runs the built CLI (lib/, which `npm test` builds first) in a child process, since the limit
// applies to a whole process.

import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT_ERROR } from '../../src/cli/command.js';
import { tinyModelTensors, writeTestModel } from '../helpers/model.js';
import { makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';

afterAll(removeTempDirs);

test('a write failure midway leaves no output and exits 2 with one line', async () => {
  const model = await writeTestModel(join(await makeTempDir(), 'tiny'), tinyModelTensors());
  const outDir = join(await makeTempDir(), 'out');
  const quantize = `exec "${process.execPath}" "${join(repoRoot, 'bin', 'quantgate.js')}" quantize --model "${model}" --out "${outDir}/" --max-shard-size 0`;
  // 32 blocks of 512 bytes (dash) or 1 KiB (bash): far below the ~45 KB output.
  const child = spawnSync('sh', ['-c', `trap '' XFSZ; ulimit -f 32; ${quantize}`], { encoding: 'utf8' });
  expect(child.status).toBe(EXIT_ERROR);
  expect(
    child.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('quantizing'))
      .join('\n'),
  ).toMatch(
    /^quantgate quantize: writing .*tiny-q4\.gguf failed \(EFBIG: .*\); free space or choose a writable output path, then run again$/,
  );
  expect(await readdir(outDir)).toEqual([]);
});
