// Timing for the benchmarks. Other processes share the CPUs, so a figure is the median of several
// runs, and jobs compared with each other take turns within each round rather than running back
// to back, so that a load which comes and goes slows them alike.

/** Seconds one call of `work` takes. */
export async function seconds(work: () => unknown): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

/** The median seconds of each job over `rounds` rounds, the jobs taking turns in each round. */
export async function medianSeconds(jobs: readonly (() => unknown)[], rounds: number): Promise<number[]> {
  const times = jobs.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [slot, job] of jobs.entries()) times[slot]!.push(await seconds(job));
  }
  return times.map(median);
}
