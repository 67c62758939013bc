// The kyutai-stt engine at full size on the CPU: a model with the real shapes of kyutai/stt-1b-en_fr
// (its tensor list, test/fixtures/kyutai/stt-1b-en_fr.tensors.txt, as BF16 safetensors, ~2 GB)
// and the real Mimi, all with random weights, transcribing the same clip with the reference (float32
// Gemm) and the candidate (its Q4_0 GGUF through MatMulNBits). Reported: Mimi's share, each
// variant's load time and memory, then the real-time factor and the LM's steps per second of one
// 10 s utterance and of a batch of four. The reference is the baseline: the candidate's figures
// come as ratios against it.
// Last, the default job as a user runs it: `quantgate run` in a child process, at its default batch
// size and device, on a batch of utterances as long as LibriSpeech test-clean's longest; reported:
// the child's peak RSS, in all and by stage. (`kyutai-job` runs the same job on a whole default
// dataset.)
// Random weights decode to arbitrary tokens, but every step costs what a real model's step costs.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeWav } from '../src/audio/wav-writer.js';
import { formatBytes, formatDuration } from '../src/common/format.js';
import type { Engine, Variant } from '../src/engines/engine.js';
import { readKyutaiConfig } from '../src/engines/kyutai-stt/config.js';
import { createKyutaiSttEngineFactory } from '../src/engines/kyutai-stt/engine.js';
import { buildMimiGraph, MIMI_INPUT, mimiFrameSize } from '../src/engines/kyutai-stt/mimi-graph.js';
import { startSession, type GraphSession } from '../src/engines/kyutai-stt/session.js';
import { openSafetensorsWeights } from '../src/engines/kyutai-stt/weights.js';
import { ProtoWriter, WireType } from '../src/protobuf/wire.js';
import { writeSafetensors, type SafetensorsTensorSpec } from '../src/formats/safetensors-writer.js';
import { DEFAULT_RUN_OPTIONS } from '../src/pipeline/options.js';
import { quantizeModel } from '../src/pipeline/quantize.js';
import { f32ToBf16Bits } from '../src/quant/half.js';

const AUDIO_SECONDS = 10;
const SAMPLE_RATE = 24000;
const BATCH = 4;
/** Each measurement keeps the fastest of its rounds: other processes share the CPUs and only ever add time. */
const ROUNDS = 2;
/** Steps per utterance: 12.5 Hz frames of audio plus the 0.5 s of silence the STT script appends. */
const STEPS = AUDIO_SECONDS * 12.5 + 7;
/** LibriSpeech test-clean's longest utterance lasts 35 s; a batch's KV rings grow with its longest utterance. */
const JOB_AUDIO_SECONDS = 35;
/** How often the job's resident memory is sampled, for the peak of each stage. */
const SAMPLE_MS = 100;
/** `npm run bench` runs in the repository root. */
const TENSOR_LIST = join(process.cwd(), 'test', 'fixtures', 'kyutai', 'stt-1b-en_fr.tensors.txt');

const LM_CONFIG = {
  dim: 2048,
  num_heads: 16,
  num_layers: 16,
  hidden_scale: 4.125,
  n_q: 32,
  dep_q: 0,
  card: 2048,
  text_card: 8000,
  context: 750,
  max_period: 100000,
  causal: true,
  layer_scale: null,
  gating: 'silu',
  norm: 'rms_norm_f32',
  positional_embedding: 'rope',
  existing_text_padding_id: 3,
  extra_heads_num_heads: 4,
  extra_heads_dim: 6,
  delays: Array<number>(33).fill(0),
  model_type: 'stt',
  stt_config: { audio_delay_seconds: 0.5, audio_silence_prefix_seconds: 0 },
  mimi_name: 'mimi-pytorch-e351c8d8@125.safetensors',
  tokenizer_name: 'tokenizer_en_fr_audio_8000.model',
};

/** xorshift32 values, uniform in [-1, 1). */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 31 - 1;
  };
}

/** The real LM's tensors, from the tensor list of the meta-device model. */
async function lmTensors(): Promise<SafetensorsTensorSpec[]> {
  const lines = (await readFile(TENSOR_LIST, 'utf8')).split('\n').filter((line) => line && !line.startsWith('#'));
  return lines.map((line) => {
    const [name, shape] = line.split('\t');
    return { name: name!, dtype: 'BF16', shape: JSON.parse(shape!) as number[] };
  });
}

/** moshi's init: uniform with the spread of N(0, 1/fan_in) for matrices, 1 for the norms. */
async function writeLm(path: string): Promise<void> {
  const tensors = await lmTensors();
  const next = random(1);
  await writeSafetensors(path, tensors, async (sink) => {
    for (const { name, shape } of tensors) {
      const count = shape.reduce((product, dim) => product * dim, 1);
      const value = name.endsWith('alpha')
        ? () => 1
        : (
            (scale) => () =>
              next() * scale
          )(Math.sqrt(3 / shape[shape.length - 1]!));
      const bits = new Uint16Array(count);
      for (let i = 0; i < count; i++) bits[i] = f32ToBf16Bits(value());
      await sink.write(name, new Uint8Array(bits.buffer));
    }
  });
}

/** The encoder side of the real Mimi (moshi's built-in config), float32. */
function mimiTensors(): { name: string; shape: number[]; scale: number }[] {
  const tensors: { name: string; shape: number[]; scale: number }[] = [];
  const conv = (prefix: string, out: number, input: number, kernel: number, bias = true) => {
    tensors.push({ name: `${prefix}.weight`, shape: [out, input, kernel], scale: 1.3 / Math.sqrt(input * kernel) });
    if (bias) tensors.push({ name: `${prefix}.bias`, shape: [out], scale: 0.05 });
  };
  let channels = 64;
  conv('encoder.model.0.conv.conv', channels, 1, 7);
  let index = 1;
  for (const ratio of [4, 5, 6, 8]) {
    conv(`encoder.model.${index}.block.1.conv.conv`, channels / 2, channels, 3);
    conv(`encoder.model.${index}.block.3.conv.conv`, channels, channels / 2, 1);
    conv(`encoder.model.${index + 2}.conv.conv`, channels * 2, channels, 2 * ratio);
    channels *= 2;
    index += 3;
  }
  conv(`encoder.model.${index + 1}.conv.conv`, 512, channels, 3);
  for (let layer = 0; layer < 8; layer++) {
    const prefix = `encoder_transformer.transformer.layers.${layer}`;
    for (const norm of ['norm1', 'norm2'])
      tensors.push(
        { name: `${prefix}.${norm}.weight`, shape: [512], scale: 0 },
        { name: `${prefix}.${norm}.bias`, shape: [512], scale: 0.05 },
      );
    tensors.push(
      { name: `${prefix}.self_attn.in_projs.0.weight`, shape: [1536, 512], scale: 1 / Math.sqrt(512) },
      { name: `${prefix}.self_attn.out_projs.0.weight`, shape: [512, 512], scale: 1 / Math.sqrt(512) },
      { name: `${prefix}.linear1.weight`, shape: [2048, 512], scale: 1 / Math.sqrt(512) },
      { name: `${prefix}.linear2.weight`, shape: [512, 2048], scale: 1 / Math.sqrt(2048) },
      { name: `${prefix}.layer_scale_1.scale`, shape: [512], scale: 0.2 },
      { name: `${prefix}.layer_scale_2.scale`, shape: [512], scale: 0.2 },
    );
  }
  conv('downsample.conv.conv.conv', 512, 512, 4, false);
  for (const [group, levels] of [
    ['rvq_first', 1],
    ['rvq_rest', 31],
  ] as const) {
    tensors.push({ name: `quantizer.${group}.input_proj.weight`, shape: [256, 512, 1], scale: 1 / Math.sqrt(512) });
    for (let level = 0; level < levels; level++) {
      const prefix = `quantizer.${group}.vq.layers.${level}._codebook`;
      tensors.push(
        { name: `${prefix}.embedding_sum`, shape: [2048, 256], scale: 1.6 },
        { name: `${prefix}.cluster_usage`, shape: [2048], scale: 0 },
      );
    }
  }
  return tensors;
}

async function writeMimi(path: string): Promise<void> {
  const tensors = mimiTensors();
  const next = random(2);
  await writeSafetensors(
    path,
    tensors.map(({ name, shape }) => ({ name, dtype: 'F32', shape })),
    async (sink) => {
      for (const { name, shape, scale } of tensors) {
        // Scale 0 marks LayerNorm weights and codebook usages, which sit around 1.
        const values = Float32Array.from({ length: shape.reduce((product, dim) => product * dim, 1) }, () =>
          scale === 0 ? 1 + 0.1 * next() : scale * next(),
        );
        await sink.write(name, new Uint8Array(values.buffer));
      }
    },
  );
}

/** A SentencePiece model of the real vocabulary size: 4 control pieces, then "▁tN". */
function tokenizer(pieces: number): Uint8Array {
  const model = new ProtoWriter();
  for (let id = 0; id < pieces; id++) {
    const entry = new ProtoWriter();
    entry.lengthDelimited(1, new TextEncoder().encode(id < 4 ? `<c${id}>` : `▁t${id}`));
    entry.tag(3, WireType.VARINT);
    entry.varint(id < 4 ? 3 : 1);
    model.message(1, entry);
  }
  return model.finish();
}

/** Speech-like noise: a few seconds of random tones with an envelope, repeated. */
export function audio(seconds: number, seed: number): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: seconds * SAMPLE_RATE }, (_, i) => {
    const t = i / SAMPLE_RATE;
    return (
      0.1 * Math.sin(2 * Math.PI * (150 + 50 * Math.sin(t * 3)) * t) * (0.6 + 0.4 * Math.sin(t * 7)) + 0.01 * next()
    );
  });
}

/** Seconds Mimi alone takes to encode one utterance as the engine frames it. */
async function timeMimi(dir: string, samples: Float32Array): Promise<number> {
  const config = await readKyutaiConfig(dir);
  const weights = await openSafetensorsWeights(join(dir, LM_CONFIG.mimi_name));
  let session: GraphSession;
  try {
    session = await startSession(await buildMimiGraph(config.mimi, weights), 'cpu', 'Mimi encoder');
  } finally {
    await weights.close();
  }
  try {
    const framed = new Float32Array(STEPS * mimiFrameSize(config.mimi));
    framed.set(samples);
    return (
      await fastest(() => session.run({ [MIMI_INPUT]: new ort.Tensor('float32', framed, [1, 1, framed.length]) }))
    )[0]!;
  } finally {
    await session.close();
  }
}

/** A model folder with the real shapes of stt-1b-en_fr and random weights: config, LM, Mimi, tokenizer. */
export async function writeKyutaiModel(dir: string): Promise<void> {
  await writeFile(join(dir, 'config.json'), JSON.stringify(LM_CONFIG));
  await writeLm(join(dir, 'model.safetensors'));
  await writeMimi(join(dir, LM_CONFIG.mimi_name));
  await writeFile(join(dir, LM_CONFIG.tokenizer_name), tokenizer(LM_CONFIG.text_card));
}

/** The fastest of ROUNDS runs of each task, in seconds; the tasks run alternately. */
async function fastest(...tasks: (() => Promise<unknown>)[]): Promise<number[]> {
  const times = tasks.map((): number[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, task] of tasks.entries()) {
      const started = performance.now();
      await task();
      times[index]!.push((performance.now() - started) / 1000);
    }
  }
  return times.map((values) => Math.min(...values));
}

async function open(dir: string, variant: Variant): Promise<{ engine: Engine; seconds: number }> {
  const started = performance.now();
  const engine = await createKyutaiSttEngineFactory().open({ dir }, variant, { device: 'cpu' });
  return { engine, seconds: (performance.now() - started) / 1000 };
}

/** The real-time factor, and the LM's steps per second once Mimi's share (`mimiSeconds` per utterance) is taken out. */
function speed(seconds: number, utterances: number, mimiSeconds: number): string {
  const lmSteps = (utterances * STEPS) / (seconds - utterances * mimiSeconds);
  return `${utterances} × ${AUDIO_SECONDS} s of audio in ${seconds.toFixed(1)} s: real-time factor ${(seconds / (utterances * AUDIO_SECONDS)).toFixed(2)}, LM ${lmSteps.toFixed(2)} steps/s`;
}

/** Resident bytes of process `pid` now, from /proc (0 once it has gone). */
function residentBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * `quantgate run` on the model in `dir` at its default options (batch size, device, maximum
 * samples), on a manifest of utterances lasting `durations` seconds. The child reports its own
 * peak RSS (getrusage) as it exits; sampling /proc while it runs attributes the resident memory to
 * the stage the log shows.
 */
export async function measureDefaultJob(dir: string, durations: readonly number[], described: string): Promise<void> {
  const data = join(dir, 'job');
  await mkdir(data, { recursive: true });
  const lines: string[] = [];
  for (const [index, seconds] of durations.entries()) {
    await writeFile(join(data, `u${index}.wav`), encodeWav(audio(seconds, 10 + index), SAMPLE_RATE, 'pcm16'));
    lines.push(JSON.stringify({ id: `u${index}`, audio: `u${index}.wav`, text: 'a sentence of words' }));
  }
  await writeFile(join(data, 'manifest.jsonl'), `${lines.join('\n')}\n`);
  const usagePath = join(dir, 'max-rss');
  const hook = join(dir, 'max-rss-hook.mjs');
  await writeFile(
    hook,
    `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(usagePath)}, String(process.resourceUsage().maxRSS * 1024)));\n`,
  );

  const args = [
    '--import',
    hook,
    join(process.cwd(), 'bin', 'quantgate.js'),
    'run',
    '--model-path',
    dir,
    '--dataset',
    join(data, 'manifest.jsonl'),
    '--out-dir',
    join(dir, 'job-out'),
  ];
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stagePeaks = new Map<string, number>();
  const notes: string[] = [];
  let stage = 'start';
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
    for (const line of chunk.split('\n')) {
      const heading = /^── (.+)$/.exec(line);
      if (heading) stage = heading[1]!;
      if (line.startsWith('memory:')) notes.push(line);
    }
  });
  const sampler = setInterval(
    () => stagePeaks.set(stage, Math.max(stagePeaks.get(stage) ?? 0, residentBytes(child.pid!))),
    SAMPLE_MS,
  );
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  // Random weights make nonsense transcripts, so the gate may pass (0) or fail (1); 2 is an error.
  if (code !== 0 && code !== 1) throw new Error(`quantgate run exited with ${code}:\n${log.slice(-3000)}`);
  const peak = Number(await readFile(usagePath, 'utf8'));
  for (const note of notes) console.log(note);
  console.log(
    `default job (batch ${DEFAULT_RUN_OPTIONS.batchSize}, ${described}, both variants one after the other), CPU: ${formatDuration(seconds)}, peak RSS ${formatBytes(peak)}`,
  );
  console.log(
    `  peak RSS by stage (sampled every ${SAMPLE_MS} ms): ${[...stagePeaks].map(([name, bytes]) => `${name} ${formatBytes(bytes)}`).join(', ')}`,
  );
}

export const bench = {
  name: 'kyutai',
  summary:
    'kyutai-stt engine at the size of stt-1b-en_fr (random weights), CPU: real-time factor and LM steps/s, Q4_0 candidate against the float32 reference',
  run: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quantgate-kyutai-bench-'));
    try {
      const prepared = performance.now();
      await writeKyutaiModel(dir);
      const quantizing = performance.now();
      const { output } = await quantizeModel({ model: dir, outDir: join(dir, 'q4') });
      console.log(
        `model written in ${formatDuration((quantizing - prepared) / 1000)}, quantized to Q4_0 in ${formatDuration((performance.now() - quantizing) / 1000)}`,
      );

      const one = [{ id: 'a', audio: audio(AUDIO_SECONDS, 1), sampleRate: SAMPLE_RATE, text: '' }];
      const batch = Array.from({ length: BATCH }, (_, index) => ({
        id: `b${index}`,
        audio: audio(AUDIO_SECONDS, index + 2),
        sampleRate: SAMPLE_RATE,
        text: '',
      }));
      const mimi = await timeMimi(dir, one[0]!.audio);
      console.log(
        `Mimi encoder alone: ${mimi.toFixed(2)} s per utterance, real-time factor ${(mimi / AUDIO_SECONDS).toFixed(3)}`,
      );

      const reference = await open(dir, { kind: 'reference' });
      const referenceRss = process.memoryUsage().rss;
      const candidate = await open(dir, { kind: 'candidate', quantized: output! });
      try {
        const bothRss = process.memoryUsage().rss;
        console.log(
          `load: reference ${formatDuration(reference.seconds)} (RSS ${formatBytes(referenceRss)}), candidate ${formatDuration(candidate.seconds)} (RSS with both loaded ${formatBytes(bothRss)}), ratio ${(candidate.seconds / reference.seconds).toFixed(2)}×`,
        );
        const [referenceSeconds, candidateSeconds] = await fastest(
          () => reference.engine.transcribe(one),
          () => candidate.engine.transcribe(one),
        );
        console.log(`reference (float32 Gemm): ${speed(referenceSeconds!, 1, mimi)}`);
        console.log(
          `candidate (Q4_0 MatMulNBits): ${speed(candidateSeconds!, 1, mimi)}; ${(candidateSeconds! / referenceSeconds!).toFixed(2)}× the reference's time`,
        );
        const [referenceBatch, candidateBatch] = await fastest(
          () => reference.engine.transcribe(batch),
          () => candidate.engine.transcribe(batch),
        );
        console.log(`reference, batch of ${BATCH}: ${speed(referenceBatch!, BATCH, mimi)}`);
        console.log(
          `candidate, batch of ${BATCH}: ${speed(candidateBatch!, BATCH, mimi)}; ${(candidateBatch! / referenceBatch!).toFixed(2)}× the reference's time`,
        );
        console.log(`peak RSS of the whole run: ${formatBytes(process.resourceUsage().maxRSS * 1024)}`);
      } finally {
        await Promise.all([reference.engine.close(), candidate.engine.close()]);
      }
      // One batch keeps this to minutes; the engine collects a batch's KV rings before it encodes
      // the next, so later batches peak alike (`kyutai-job` checks that on a whole dataset).
      const batchSize = DEFAULT_RUN_OPTIONS.batchSize;
      await measureDefaultJob(
        dir,
        Array<number>(batchSize).fill(JOB_AUDIO_SECONDS),
        `${batchSize} × ${JOB_AUDIO_SECONDS} s`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
