// `npm run bench [name…]`: runs every benchmark, or the named ones, one after another.
// Each prints its own figures, as ratios against a baseline measured in the same run where one exists.

import { cpus } from 'node:os';
import { bench as audio } from './audio.bench.js';
import { bench as demoRun } from './demo-run.bench.js';
import { bench as gguf } from './gguf.bench.js';
import { bench as hub } from './hub.bench.js';
import { bench as kyutai } from './kyutai.bench.js';
import { bench as kyutaiJob } from './kyutai-job.bench.js';
import { bench as normalize } from './normalize.bench.js';
import { bench as onnx } from './onnx.bench.js';
import { bench as onnxCtc } from './onnx-ctc.bench.js';
import { bench as publish } from './publish.bench.js';
import { bench as quantKernels } from './quant-kernels.bench.js';
import { bench as quantize } from './quantize.bench.js';
import { bench as reuse } from './reuse.bench.js';
import { bench as safetensors } from './safetensors.bench.js';
import { bench as scoring } from './scoring.bench.js';
import { bench as sensitivity, kyutaiBench as sensitivityKyutai } from './sensitivity.bench.js';
import { bench as startup } from './startup.bench.js';
import { bench as tune, kyutaiBench as tuneKyutai } from './tune.bench.js';

type Bench = { name: string; summary: string; run: () => Promise<void> };

const benches: Bench[] = [
  quantize,
  quantKernels,
  safetensors,
  gguf,
  hub,
  normalize,
  scoring,
  audio,
  onnx,
  onnxCtc,
  demoRun,
  reuse,
  tune,
  tuneKyutai,
  kyutai,
  kyutaiJob,
  sensitivity,
  sensitivityKyutai,
  publish,
  startup,
];

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !benches.some((bench) => bench.name === name));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark ${unknown.join(', ')}; choose from ${benches.map((bench) => bench.name).join(', ')}`,
  );
  process.exit(2);
}
console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'})`);
for (const bench of benches.filter((candidate) => wanted.length === 0 || wanted.includes(candidate.name))) {
  console.log(`\n## ${bench.name}: ${bench.summary}`);
  await bench.run();
}
