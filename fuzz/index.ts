// `npm run fuzz [target…] [--seconds N] [--inputs N] [--seed S] …`: mutation-fuzzes quantgate's
// parsers of outside bytes, prints the counts per target (accepted, clean error, crash, hang,
// abort), writes a minimised reproducer of each distinct failure under --findings, and exits 1 when
// any input crashed, hung or aborted.

import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fuzzTarget, findingInput, type TargetReport } from './harness.js';
import { Host } from './host.js';
import { minimize, writeFinding } from './minimize.js';
import { TARGETS } from './targets/index.js';

const USAGE = `usage: npm run fuzz -- [target…] [--seconds N] [--inputs N] [--seed S] [--skip t,…] [--jobs N]
                   [--timeout-ms N] [--memory-mb N] [--minimize-seconds N] [--findings DIR] [--list]

  target…             the targets to fuzz (default all; --list names them)
  --seconds N         time for the whole run, shared equally by the targets (default 60)
  --inputs N          inputs per target; with --seconds too, whichever ends first
  --seed S            the run's seed (default: from the clock; printed, so a run can be repeated)
  --skip t,…          targets to leave out
  --jobs N            child processes per target (default: twice the cores, at most 8)
  --timeout-ms N      longest one input may run before it counts as a hang (default 3000; time
                      spent waiting for a CPU held by other work does not count; a hang is
                      confirmed alone under 3 times this)
  --memory-mb N       heap of a child process; twice this plus 256 MiB resident kills it (default 512)
  --minimize-seconds N  time to shrink each distinct failure (default 20; 0 writes it unshrunk)
  --findings DIR      where reproducers go (default fuzz/findings)`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function wholeNumber(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) fail(`--${name} must be a whole number, not "${text}"`);
  return value;
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string' },
      inputs: { type: 'string' },
      seed: { type: 'string' },
      skip: { type: 'string' },
      jobs: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'memory-mb': { type: 'string' },
      'minimize-seconds': { type: 'string' },
      findings: { type: 'string' },
      list: { type: 'boolean' },
    },
  });
} catch (error) {
  fail((error as Error).message);
}
const { values, positionals } = parsed;
if (values.list) {
  for (const target of TARGETS) console.log(`${target.name.padEnd(14)} ${target.summary}`);
  process.exit(0);
}
const unknown = [...positionals, ...(values.skip?.split(',') ?? [])].filter(
  (name) => !TARGETS.some((target) => target.name === name),
);
if (unknown.length > 0)
  fail(`unknown target ${unknown.join(', ')}; choose from ${TARGETS.map((target) => target.name).join(', ')}`);
const skipped = new Set(values.skip?.split(','));
const targets = TARGETS.filter(
  (target) => (positionals.length === 0 || positionals.includes(target.name)) && !skipped.has(target.name),
);

const maxInputs = values.inputs === undefined ? Infinity : wholeNumber(values.inputs, 'inputs', 0);
const seconds =
  values.seconds === undefined && values.inputs !== undefined ? Infinity : wholeNumber(values.seconds, 'seconds', 60);
const runSeed = wholeNumber(values.seed, 'seed', Date.now() % 2 ** 31);
// Twice the cores: most parsers spend much of their time waiting on file calls.
const jobs = Math.max(1, wholeNumber(values.jobs, 'jobs', Math.min(8, 2 * cpus().length)));
const bounds = {
  timeoutMs: Math.max(1, wholeNumber(values['timeout-ms'], 'timeout-ms', 3000)),
  memoryMb: Math.max(64, wholeNumber(values['memory-mb'], 'memory-mb', 512)),
};
const minimizeSeconds = wholeNumber(values['minimize-seconds'], 'minimize-seconds', 20);
const findingsDir = values.findings ?? 'fuzz/findings';

console.log(
  `fuzzing ${targets.length} targets, seed ${runSeed}, ${jobs} jobs, ${bounds.timeoutMs} ms and ${bounds.memoryMb} MiB per input`,
);
const reports: TargetReport[] = [];
// Each target gets an equal share of the time; shrinking what it found comes on top.
const share = seconds / targets.length;
for (const target of targets) {
  const began = Date.now();
  const seeds = await target.seeds();
  const report = await fuzzTarget(target, seeds, {
    ...bounds,
    runSeed,
    jobs,
    maxInputs,
    deadline: began + share * 1000,
  });
  reports.push(report);
  console.log(row(report));
  if (report.findings.length > 0) {
    const host = new Host(target.name, seeds, runSeed, bounds);
    try {
      for (const finding of report.findings) {
        const original = findingInput(target, seeds, runSeed, finding);
        const shrunk = await minimize(host, finding, original, {
          seconds: minimizeSeconds,
          hangTimeoutMs: Math.min(bounds.timeoutMs, 1000),
        });
        const written = await writeFinding(findingsDir, target.name, runSeed, finding, original, shrunk);
        console.log(
          `  ${finding.kind} ×${finding.count}: ${finding.signature}\n    → ${written.path} (${written.bytes} bytes)`,
        );
      }
    } finally {
      await host.close();
    }
  }
}

console.log(
  `\n| target | inputs | inputs/s | accepted | clean error | crash | hang | abort |\n|---|---|---|---|---|---|---|---|`,
);
for (const report of reports) {
  const { accepted, clean, crash, hang, abort } = report.counts;
  console.log(
    `| ${report.target} | ${report.inputs} | ${Math.round(report.inputs / Math.max(report.seconds, 0.001))} | ${accepted} | ${clean} | ${crash} | ${hang} | ${abort} |`,
  );
}
const failures = reports.reduce(
  (sum, report) => sum + report.counts.crash + report.counts.hang + report.counts.abort,
  0,
);
console.log(
  failures === 0
    ? `seed ${runSeed}: no crash, hang or abort`
    : `seed ${runSeed}: ${failures} inputs crashed, hung or aborted; reproducers in ${findingsDir}`,
);
process.exit(failures === 0 ? 0 : 1);

function row(report: TargetReport): string {
  const { accepted, clean, crash, hang, abort } = report.counts;
  return `${report.target.padEnd(14)} ${String(report.inputs).padStart(8)} inputs in ${report.seconds.toFixed(1)} s: ${accepted} accepted, ${clean} clean errors, ${crash} crashes, ${hang} hangs, ${abort} aborts`;
}
