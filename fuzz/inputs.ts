// The input a run tries at each index, a pure function of the run's seed, the target and the
// index: the seeds themselves first, then mutants. Any process can rebuild input N of a run, so
// workers take index ranges rather than bytes, and a finding is reproduced from its index alone.

import { Dice, mutate, type Structure } from './mutators.js';

/** Indices per block; each block draws its per-input seeds from a fresh hash of the run's seed. */
const BLOCK = 2 ** 21;

export function inputAt(
  seeds: readonly Uint8Array[],
  structure: Structure,
  runSeed: number,
  target: string,
  index: number,
): Uint8Array {
  if (index < seeds.length) return seeds[index]!;
  const block = Math.floor(index / BLOCK);
  const dice = new Dice(fnv1a(`${runSeed}:${target}:${block}`) * BLOCK + (index % BLOCK));
  return mutate(dice.pick(seeds), seeds, structure, dice);
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
