// Quantizing a BF16 checkpoint with the real layer shapes of kyutai/stt-1b-en_fr (4 layers, the
// embeddings and the text head) disk to disk to Q4_0 GGUF. Each run happens in a child process so
// that its peak RSS is its own. Baselines in the same run: the same quantization on one worker
// thread, and plain I/O (reading the checkpoint and writing as many bytes as the GGUF has).

import { spawnSync } from 'node:child_process';
import { open, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBytes } from '../src/common/format.js';
import { writeSafetensors } from '../src/formats/safetensors-writer.js';
import { quantizeModel } from '../src/pipeline/quantize.js';

const LAYERS = 4;
const DIM = 2048;

function kyutaiShapes(): { name: string; shape: number[] }[] {
  const tensors: { name: string; shape: number[] }[] = [];
  for (let i = 0; i < 4; i++) tensors.push({ name: `emb.${i}.weight`, shape: [2049, DIM] });
  tensors.push({ name: 'text_emb.weight', shape: [8001, DIM] });
  for (let layer = 0; layer < LAYERS; layer++) {
    const prefix = `transformer.layers.${layer}`;
    tensors.push({ name: `${prefix}.norm1.alpha`, shape: [1, 1, DIM] });
    tensors.push({ name: `${prefix}.self_attn.in_proj_weight`, shape: [6144, DIM] });
    tensors.push({ name: `${prefix}.self_attn.out_proj.weight`, shape: [DIM, DIM] });
    tensors.push({ name: `${prefix}.norm2.alpha`, shape: [1, 1, DIM] });
    tensors.push({ name: `${prefix}.gating.linear_in.weight`, shape: [11264, DIM] });
    tensors.push({ name: `${prefix}.gating.linear_out.weight`, shape: [DIM, 5632] });
  }
  tensors.push({ name: 'out_norm.alpha', shape: [1, 1, DIM] });
  tensors.push({ name: 'text_linear.weight', shape: [8000, DIM] });
  return tensors;
}

/** Weight-like BF16 values: a fixed pattern of small gaussians, written 8 MiB at a time. */
async function writeCheckpoint(path: string): Promise<number> {
  const tensors = kyutaiShapes();
  const pattern = new Uint16Array(4 << 20);
  let state = 12345;
  for (let i = 0; i < pattern.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const u1 = (state + 1) / 4294967297;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const value = 0.02 * Math.sqrt(-2 * Math.log(u1)) * Math.cos((2 * Math.PI * state) / 4294967296);
    pattern[i] = new Uint32Array(new Float32Array([value]).buffer)[0]! >>> 16;
  }
  const bytes = new Uint8Array(pattern.buffer);
  await writeSafetensors(
    path,
    tensors.map((tensor) => ({ ...tensor, dtype: 'BF16' as const })),
    async (sink) => {
      for (const tensor of tensors) {
        let left = tensor.shape.reduce((a, b) => a * b, 1) * 2;
        while (left > 0) {
          const part = bytes.subarray(0, Math.min(left, bytes.byteLength));
          await sink.write(tensor.name, part);
          left -= part.byteLength;
        }
      }
    },
  );
  return tensors.reduce((sum, tensor) => sum + tensor.shape.reduce((a, b) => a * b, 1), 0);
}

interface ChildReport {
  seconds: number;
  maxRssBytes: number;
  outputBytes: number;
}

function runChild(args: string[]): ChildReport {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`benchmark child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as ChildReport;
}

/** Runs inside the child: one quantization, or the plain-I/O baseline. */
async function child(mode: string, model: string, outDir: string, threads: string): Promise<void> {
  const started = performance.now();
  let outputBytes: number;
  if (mode === 'quantize') {
    const result = await quantizeModel({ model, outDir, maxShardBytes: 0, threads: Number(threads) });
    outputBytes = (await stat(result.output!.files[0]!)).size;
  } else {
    outputBytes = Number(threads);
    const input = await open(model, 'r');
    const output = await open(join(outDir, 'copy.bin'), 'w');
    const inputBytes = (await input.stat()).size;
    const buffer = Buffer.alloc(4 << 20);
    let read: number;
    let position = 0;
    let written = 0;
    // Writes keep pace with reads, as the quantizer's do.
    while ((read = (await input.read(buffer, 0, buffer.length, position)).bytesRead) > 0) {
      position += read;
      const share = Math.ceil((position * outputBytes) / inputBytes) - written;
      await output.write(buffer, 0, share);
      written += share;
    }
    await output.sync();
    await Promise.all([input.close(), output.close()]);
  }
  const report: ChildReport = {
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    outputBytes,
  };
  process.stdout.write(JSON.stringify(report));
}

export const bench = {
  name: 'quantize',
  summary: 'BF16 safetensors → Q4_0 GGUF, disk to disk, with the real kyutai layer shapes',
  run: async () => {
    const dir = join(tmpdir(), `quantgate-bench-quantize-${process.pid}`);
    try {
      const model = join(dir, 'model.safetensors');
      const values = await writeCheckpoint(model);
      const size = (await stat(model)).size;
      console.log(`checkpoint: ${(values / 1e6).toFixed(0)} M BF16 values, ${formatBytes(size)} (${LAYERS} layers)`);
      const cores = availableParallelism();
      const all = runChild(['quantize', model, join(dir, 'all'), String(cores)]);
      const one = runChild(['quantize', model, join(dir, 'one'), '1']);
      const io = runChild(['io', model, join(dir, 'io'), String(all.outputBytes)]);
      const rate = (report: ChildReport) => values / 1e6 / report.seconds;
      const rows = [
        [`quantize, ${cores} threads`, all],
        ['quantize, 1 thread', one],
        ['plain read + write of the same bytes', io],
      ] as const;
      for (const [label, report] of rows) {
        console.log(
          `${label.padEnd(38)} ${rate(report).toFixed(0).padStart(5)} M values/s  ${report.seconds.toFixed(2)} s  peak RSS ${formatBytes(report.maxRssBytes)}`,
        );
      }
      console.log(
        `${cores} threads vs 1: ${(one.seconds / all.seconds).toFixed(2)}×; vs plain I/O: ${(io.seconds / all.seconds).toFixed(2)}× of its speed`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

if (process.argv[2] === '--child') {
  const [mode, model, outDir, threads] = process.argv.slice(3) as [string, string, string, string];
  await import('node:fs/promises').then(({ mkdir }) => mkdir(outDir, { recursive: true }));
  await child(mode, model, outDir, threads);
}
