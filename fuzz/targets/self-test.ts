// Targets that misbehave on purpose, for the harness's own tests: they are never fuzzed, only
// named by the tests to check that a hang, a V8 fatal error and memory past the bound are caught.
import type { FuzzTarget } from '../target.js';

const noSeeds = async () => [new Uint8Array(0)];

export const SELF_TEST_TARGETS: readonly FuzzTarget[] = [
  {
    name: 'self-test-hang',
    summary: 'loops forever, synchronously',
    structure: 'binary-head',
    seeds: noSeeds,
    async parse() {
      for (;;);
    },
  },
  {
    name: 'self-test-fatal',
    summary: 'grows an array until V8 gives up on the process',
    structure: 'binary-head',
    seeds: noSeeds,
    async parse() {
      const grown: number[][] = [];
      for (;;) grown.push(new Array(1 << 16).fill(1.5));
    },
  },
  {
    name: 'self-test-memory',
    summary: 'fills buffers outside the V8 heap',
    structure: 'binary-head',
    seeds: noSeeds,
    async parse() {
      const held: Uint8Array[] = [];
      for (;;) {
        held.push(new Uint8Array(64 << 20).fill(1));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
  },
];
