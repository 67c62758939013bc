// The onnx-ctc engine end to end, on a synthetic wav2vec2-shaped CTC model (a strided Conv feature
// encoder, 6 Linear layers of 512, a 32-token head) over 16 utterances of 2–12 s:
//  - batching: 8 utterances zero-padded per run, against one utterance per run;
//  - candidate: the Q4_0 GGUF through MatMulNBits, and dequantized, against the float reference;
// and the CUDA installer's extraction step: 64 MiB streamed out of a deflated .nupkg entry with
// its CRC-32 checked, against one zlib.inflateRawSync of the same bytes in memory.
// Figures are real-time factors (seconds of audio per second); pairs run alternately, medians of 3.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { formatBytes } from '../src/common/format.js';
import type { Utterance } from '../src/datasets/utterance.js';
import type { Engine, Variant } from '../src/engines/engine.js';
import { ModelBuilder, intsAttribute } from '../src/engines/onnx/builder.js';
import { writeModel } from '../src/engines/onnx/model.js';
import { float32Tensor, int64Tensor, transposeMatrix } from '../src/engines/onnx/tensors.js';
import { createOnnxCtcEngineFactory } from '../src/engines/onnx-ctc/engine.js';
import { openZip } from '../src/runtime/zip.js';
import { writeSafetensors } from '../src/formats/safetensors-writer.js';
import { quantizeModel } from '../src/pipeline/quantize.js';
import { buildZip } from '../test/helpers/zip.js';
import { medianSeconds } from './measure.js';

const RATE = 16000;
const KERNEL = 400;
const STRIDE = 320;
const WIDTH = 512;
const LAYERS = 6;
const VOCAB = 32;
const UTTERANCES = 16;
const BATCH = 8;
const ROUNDS = 3;
const ZIP_BYTES = 64 << 20;

function pseudoRandom(count: number, seed: number, scale: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 31 - 1) * scale;
  });
}

/** PyTorch-layout weights: the encoder conv, then [out, in] Linear weights and biases. */
function weights(): { name: string; shape: number[]; values: Float32Array }[] {
  const tensors = [
    { name: 'encoder.conv.weight', shape: [WIDTH, 1, KERNEL], values: pseudoRandom(WIDTH * KERNEL, 1, 0.05) },
  ];
  for (let layer = 0; layer <= LAYERS; layer++) {
    const out = layer === LAYERS ? VOCAB : WIDTH;
    tensors.push({
      name: `layers.${layer}.weight`,
      shape: [out, WIDTH],
      values: pseudoRandom(out * WIDTH, layer + 2, 1 / Math.sqrt(WIDTH)),
    });
    tensors.push({ name: `layers.${layer}.bias`, shape: [out], values: pseudoRandom(out, layer + 100, 0.01) });
  }
  return tensors;
}

async function writeModelFolder(dir: string): Promise<void> {
  const tensors = weights();
  await writeSafetensors(
    join(dir, 'model.safetensors'),
    tensors.map(({ name, shape }) => ({ name, dtype: 'F32' as const, shape })),
    async (sink) => {
      for (const { name, values } of tensors) await sink.write(name, new Uint8Array(values.buffer));
    },
  );
  const builder = new ModelBuilder()
    .input('input_values', 'float32', ['batch', 'samples'])
    .initializer(int64Tensor('axis', [1], [1]))
    .initializer(float32Tensor('encoder.conv.weight', [WIDTH, 1, KERNEL], tensors[0].values))
    .node('Unsqueeze', ['input_values', 'axis'], ['wave'])
    .node('Conv', ['wave', 'encoder.conv.weight'], ['conv'], {
      attributes: [intsAttribute('kernel_shape', [KERNEL]), intsAttribute('strides', [STRIDE])],
    })
    .node('Transpose', ['conv'], ['h0'], { attributes: [intsAttribute('perm', [0, 2, 1])] });
  for (let layer = 0; layer <= LAYERS; layer++) {
    const out = layer === LAYERS ? VOCAB : WIDTH;
    const [weight, bias] = [tensors[1 + 2 * layer], tensors[2 + 2 * layer]];
    // Renamed and transposed, as torch.onnx.export stores Linear weights.
    builder
      .initializer(float32Tensor(`onnx::MatMul_${layer}`, [WIDTH, out], transposeMatrix(weight.values, out, WIDTH)))
      .initializer(float32Tensor(bias.name, [out], bias.values))
      .node('MatMul', [`h${layer}`, `onnx::MatMul_${layer}`], [`m${layer}`])
      .node('Add', [`m${layer}`, bias.name], [layer === LAYERS ? 'logits' : `a${layer}`]);
    if (layer < LAYERS) builder.node('Relu', [`a${layer}`], [`h${layer + 1}`]);
  }
  await writeModel(join(dir, 'model.onnx'), builder.output('logits', 'float32', ['batch', 'frames', VOCAB]).build());
  await writeFile(
    join(dir, 'vocab.json'),
    JSON.stringify(
      Object.fromEntries(
        Array.from({ length: VOCAB }, (_, id) => [
          id === 0 ? '<pad>' : id === 1 ? '|' : String.fromCharCode(95 + id),
          id,
        ]),
      ),
    ),
  );
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ pad_token_id: 0, conv_kernel: [KERNEL], conv_stride: [STRIDE] }),
  );
  await writeFile(join(dir, 'preprocessor_config.json'), JSON.stringify({ sampling_rate: RATE, do_normalize: true }));
}

function utterances(): Utterance[] {
  return Array.from({ length: UTTERANCES }, (_, i) => {
    const seconds = 2 + ((i * 7) % 11);
    return { id: `u${i}`, audio: pseudoRandom(seconds * RATE, 1000 + i, 0.3), sampleRate: RATE, text: '' };
  });
}

async function transcribeAll(engine: Engine, batch: readonly Utterance[], size: number): Promise<void> {
  for (let start = 0; start < batch.length; start += size) await engine.transcribe(batch.slice(start, start + size));
}

async function benchEngine(dir: string): Promise<void> {
  const quantized = (await quantizeModel({ model: dir, outDir: join(dir, 'out') })).output!;
  const open = (variant: Variant, candidateMode?: 'matmulnbits' | 'dequant') =>
    createOnnxCtcEngineFactory({ candidateMode }).open({ dir }, variant, { device: 'cpu' });
  const engines = [
    await open({ kind: 'reference' }),
    await open({ kind: 'candidate', quantized }, 'matmulnbits'),
    await open({ kind: 'candidate', quantized }, 'dequant'),
  ];
  try {
    const audio = utterances();
    const seconds = audio.reduce((sum, utterance) => sum + utterance.audio.length, 0) / RATE;
    const [reference, matmulnbits, dequant] = engines;
    const [single, batched, fused, dequantized] = await medianSeconds(
      [
        () => transcribeAll(reference, audio, 1),
        () => transcribeAll(reference, audio, BATCH),
        () => transcribeAll(matmulnbits, audio, BATCH),
        () => transcribeAll(dequant, audio, BATCH),
      ],
      ROUNDS,
    );
    const rtf = (time: number) => `${(seconds / time).toFixed(0)}× real time`;
    console.log(
      `${UTTERANCES} utterances, ${seconds} s of audio; model: Conv ${KERNEL}/${STRIDE} → ${LAYERS} × Linear ${WIDTH} → ${VOCAB} tokens`,
    );
    console.log(`reference, one utterance per run: ${rtf(single)} (baseline)`);
    console.log(
      `reference, ${BATCH} padded per run: ${rtf(batched)}; ratio ${(single / batched).toFixed(2)}× the baseline's speed`,
    );
    console.log(
      `candidate matmulnbits, ${BATCH} per run: ${rtf(fused)}; ${(batched / fused).toFixed(2)}× the reference's speed`,
    );
    console.log(
      `candidate dequant, ${BATCH} per run: ${rtf(dequantized)}; ${(batched / dequantized).toFixed(2)}× the reference's speed`,
    );
  } finally {
    for (const engine of engines) await engine.close();
  }
}

async function benchExtraction(dir: string): Promise<void> {
  // Weight-like bytes compress about as much as a shared library does.
  const data = Buffer.from(pseudoRandom(ZIP_BYTES / 4, 7, 1).map((value) => Math.round(value * 64) / 64).buffer);
  const deflated = deflateRawSync(data);
  const path = join(dir, 'package.nupkg');
  await writeFile(path, buildZip([{ name: 'runtimes/linux-x64/native/libexample.so', data }]));
  const archive = await openZip(path);
  try {
    const [inMemory, streamed] = await medianSeconds(
      [
        () => inflateRawSync(deflated),
        async () => {
          for await (const chunk of archive.read(archive.entries[0])) void chunk;
        },
      ],
      ROUNDS,
    );
    const rate = (time: number) => `${formatBytes(ZIP_BYTES / time)}/s`;
    console.log(
      `nupkg extraction of ${formatBytes(ZIP_BYTES)} (deflated to ${formatBytes(deflated.length)}): streamed with CRC-32 ${rate(streamed)}; one inflateRawSync in memory ${rate(inMemory)}; ratio ${(streamed / inMemory).toFixed(2)}× the time`,
    );
  } finally {
    await archive.close();
  }
}

export const bench = {
  name: 'onnx-ctc',
  summary:
    'onnx-ctc engine: padded batches and candidates against the reference; nupkg extraction against in-memory inflate',
  run: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quantgate-bench-ctc-'));
    try {
      await writeModelFolder(dir);
      await benchEngine(dir);
      await benchExtraction(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
