// The kyutai-stt reference handing over the inputs of its LM's weights (for `sensitivity --method
// fast`): one row per stream and step for every linear layer, the token ids of every embedding,
// the same transcript as without capture, and an output error for every quantized weight.

import type { ActivationSink, LinearInput, Transcript } from '../../../src/engines/engine.js';
import { createKyutaiSttEngineFactory } from '../../../src/engines/kyutai-stt/engine.js';
import { ActivationSample } from '../../../src/pipeline/activation-sample.js';
import { measureOutputErrors } from '../../../src/pipeline/output-error.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { goldenFloats, goldenLmConfig, writeGoldenModel } from './golden.js';

afterAll(removeTempDirs);

test('the reference hands over each linear layer’s rows and each embedding’s ids, and transcribes as before', async () => {
  const modelDir = await writeGoldenModel(await makeTempDir());
  const config = await goldenLmConfig();
  const { plan } = await quantizeModel({ model: modelDir, outDir: '', dryRun: true });
  const quantized = plan.tensors.filter((tensor) => tensor.type === 'Q4_0');
  const audio = await goldenFloats('audio_24k.f32');
  const batch = [
    { id: 'clip', audio, sampleRate: 24000, text: '' },
    { id: 'short', audio: audio.slice(0, 30000), sampleRate: 24000, text: '' },
  ];

  const rows = new Map<string, { input: LinearInput; count: number }>();
  const lookups = new Map<string, number>();
  const sample = new ActivationSample(quantized);
  const sink: ActivationSink = {
    linear(input, values) {
      const seen = rows.get(input.key) ?? { input, count: 0 };
      rows.set(input.key, { input, count: seen.count + values.length / input.width });
      sample.linear(input, values);
    },
    lookup(tensor, ids) {
      lookups.set(tensor, (lookups.get(tensor) ?? 0) + ids.length);
      sample.lookup(tensor, ids);
    },
  };
  const factory = createKyutaiSttEngineFactory();
  const capturing = await factory.open(
    { dir: modelDir },
    { kind: 'reference' },
    { device: 'cpu', activations: { tensors: quantized, sink } },
  );
  let captured: Transcript[];
  try {
    expect(capturing.activationCapture).toEqual({ uncaptured: [] });
    captured = await capturing.transcribe(batch);
  } finally {
    await capturing.close();
  }
  const plain = await factory.open({ dir: modelDir }, { kind: 'reference' }, { device: 'cpu' });
  try {
    expect(captured).toEqual(await plain.transcribe(batch));
  } finally {
    await plain.close();
  }

  const linear = quantized.filter((tensor) => !/emb/.test(tensor.name));
  const embeddings = quantized.filter((tensor) => /emb/.test(tensor.name));
  expect(embeddings.map((tensor) => tensor.name).sort()).toEqual(
    ['text_emb.weight', ...Array.from({ length: config.nQ }, (_, k) => `emb.${k}.weight`)].sort(),
  );
  expect([...rows.keys()].sort()).toEqual(linear.map((tensor) => tensor.name).sort());
  const counts = new Set([...rows.values()].map(({ count }) => count));
  // Every linear layer and every embedding ran once per stream and step.
  expect(counts.size).toBe(1);
  const total = [...counts][0]!;
  expect(total).toBeGreaterThan(0);
  expect(new Set(lookups.values())).toEqual(new Set([total]));
  for (const { input } of rows.values()) {
    const tensor = linear.find((each) => each.name === input.key)!;
    expect(input).toEqual({ key: tensor.name, width: tensor.ne[0], weights: [{ tensor: tensor.name, along: 'rows' }] });
  }

  const errors = await measureOutputErrors(modelDir, quantized, sample, { threads: 1 });
  for (const tensor of quantized) {
    const { error, reference } = errors.get(tensor.name)!;
    expect(reference).toBeGreaterThan(0);
    expect(error).toBeGreaterThan(0);
    expect(error / reference).toBeLessThan(0.1);
  }
}, 120_000);
