// Parses one input with a fuzz target in this process and says how it ended, as the fuzzer's
// child process would: for the regression tests of the reproducers the fuzzer found.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, type Outcome } from '../../fuzz/outcome.js';
import { Scratch } from '../../fuzz/target.js';
import { findTarget } from '../../fuzz/targets/index.js';

export async function outcomeOf(targetName: string, input: Uint8Array): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'quantgate-fuzz-test-'));
  try {
    await findTarget(targetName).parse(input, new Scratch(dir));
    return { kind: 'accepted', signature: '', detail: '' };
  } catch (error) {
    return classify(error, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
