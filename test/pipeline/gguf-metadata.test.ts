import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../src/common/errors.js';
import { GgufValueType } from '../../src/formats/gguf/constants.js';
import { dumpGguf } from '../../src/formats/gguf/dump.js';
import { openGguf } from '../../src/formats/gguf/reader.js';
import { buildGgufMetadata, MAX_CONFIG_DEPTH } from '../../src/pipeline/gguf-metadata.js';
import { quantizeModel } from '../../src/pipeline/quantize.js';
import { TOOL_VERSION } from '../../src/version.js';
import { runCli } from '../helpers/cli.js';
import { tinyModelTensors, writeTestModel } from '../helpers/model.js';
import { makeTempDir, removeTempDirs, repoRoot } from '../helpers/paths.js';

afterAll(removeTempDirs);

/** A config.json of `depth` nested objects, written as text since JSON.stringify itself recurses. */
const nestedConfig = (depth: number) =>
  `{"model_type":"tiny-test","dim":64,${'"a":{'.repeat(depth - 1)}"x":1${'}'.repeat(depth - 1)}}`;

describe('GGUF metadata of a quantized model', () => {
  const entries = buildGgufMetadata({
    architecture: 'kyutai-stt',
    name: 'stt-1b-en_fr',
    fileType: 2,
    repoId: 'kyutai/stt-1b-en_fr',
    revision: 'a'.repeat(40),
    config: {
      dim: 2048,
      num_heads: 16,
      num_layers: 16,
      context: 750,
      max_period: 100000,
      hidden_scale: 4.125,
      delays: [0, 0],
      stt_config: { audio_delay_seconds: 0.5 },
      lm_gen_config: null,
      moshi_name: 'model.safetensors',
    },
  });
  const byKey = new Map(entries.map((entry) => [entry.key, entry]));

  test('general keys first, in llama.cpp types', () => {
    expect(entries.slice(0, 4).map((entry) => [entry.key, entry.type, entry.value])).toEqual([
      ['general.architecture', GgufValueType.STRING, 'kyutai-stt'],
      ['general.name', GgufValueType.STRING, 'stt-1b-en_fr'],
      ['general.quantization_version', GgufValueType.UINT32, 2],
      ['general.file_type', GgufValueType.UINT32, 2],
    ]);
  });

  test("source and tool are recorded, the Hub repo under the GGUF spec's general.source keys", () => {
    expect(byKey.get('general.source.url')).toMatchObject({
      type: GgufValueType.STRING,
      value: 'https://huggingface.co/kyutai/stt-1b-en_fr',
    });
    expect(byKey.get('general.source.huggingface.repository')).toMatchObject({
      type: GgufValueType.STRING,
      value: 'kyutai/stt-1b-en_fr',
    });
    expect(byKey.get('quantgate.source.revision')?.value).toBe('a'.repeat(40));
    expect(byKey.get('quantgate.tool.name')?.value).toBe('quantgate');
    expect(byKey.get('quantgate.tool.version')?.value).toBe(TOOL_VERSION);
  });

  test('hyper-parameters take llama.cpp names under the architecture, the rest keep theirs', () => {
    expect(byKey.get('kyutai-stt.embedding_length')).toMatchObject({ type: GgufValueType.UINT32, value: 2048 });
    expect(byKey.get('kyutai-stt.block_count')?.value).toBe(16);
    expect(byKey.get('kyutai-stt.attention.head_count')?.value).toBe(16);
    expect(byKey.get('kyutai-stt.context_length')?.value).toBe(750);
    expect(byKey.get('kyutai-stt.rope.freq_base')).toMatchObject({ type: GgufValueType.FLOAT32, value: 100000 });
    expect(byKey.get('kyutai-stt.hidden_scale')).toMatchObject({ type: GgufValueType.FLOAT32, value: 4.125 });
    expect(byKey.get('kyutai-stt.delays')).toMatchObject({
      type: GgufValueType.ARRAY,
      itemType: GgufValueType.INT32,
      value: [0, 0],
    });
    expect(byKey.get('kyutai-stt.stt_config.audio_delay_seconds')?.value).toBe(0.5);
    expect(byKey.has('kyutai-stt.dim')).toBe(false);
    expect(byKey.has('kyutai-stt.lm_gen_config')).toBe(false);
  });

  test('Kyutai STT gets the sizes the seed records: the gated MLP width, the text and the audio vocabularies', () => {
    const seedConfig = {
      dim: 2048,
      num_heads: 16,
      num_layers: 16,
      context: 750,
      max_period: 100000.0,
      hidden_scale: 4.125,
      gating: 'silu',
      text_card: 8000,
      card: 2048,
    };
    const seed = new Map(
      buildGgufMetadata({ architecture: 'kyutai-stt', name: 'stt-1b-en_fr', fileType: 2, config: seedConfig }).map(
        (entry) => [entry.key, entry],
      ),
    );
    expect(seed.get('kyutai-stt.feed_forward_length')).toMatchObject({ type: GgufValueType.UINT32, value: 5632 });
    expect(seed.get('kyutai-stt.vocab_size')).toMatchObject({ type: GgufValueType.UINT32, value: 8000 });
    expect(seed.get('kyutai-stt.audio_vocab_size')).toMatchObject({ type: GgufValueType.UINT32, value: 2049 });
    expect(seed.get('kyutai-stt.rope.freq_base')).toMatchObject({ type: GgufValueType.FLOAT32, value: 100000 });
    expect(seed.get('kyutai-stt.text_card')?.value).toBe(8000);
  });

  test('a standard key takes the type llama.cpp reads; a value that type cannot hold keeps its config name', () => {
    const other = new Map(
      buildGgufMetadata({
        architecture: 'llama',
        name: 'm',
        fileType: 2,
        config: { rope_theta: 500000, max_position_embeddings: 1.5, vocab_size: 32000 },
      }).map((entry) => [entry.key, entry]),
    );
    expect(other.get('llama.rope.freq_base')).toMatchObject({ type: GgufValueType.FLOAT32, value: 500000 });
    expect(other.get('llama.vocab_size')).toMatchObject({ type: GgufValueType.UINT32, value: 32000 });
    expect(other.has('llama.context_length')).toBe(false);
    expect(other.get('llama.max_position_embeddings')).toMatchObject({ type: GgufValueType.FLOAT32, value: 1.5 });
    expect(other.has('general.source.url')).toBe(false);
  });

  test("nested objects flatten in the config's order, down to MAX_CONFIG_DEPTH levels", () => {
    let deepest: Record<string, unknown> = { x: 1 };
    for (let level = 1; level < MAX_CONFIG_DEPTH; level++) deepest = { a: deepest };
    const keys = buildGgufMetadata({
      architecture: 't',
      name: 'm',
      fileType: 2,
      config: { first: { b: 1, c: { d: 2 } }, deep: deepest, last: 3 },
    })
      .map((entry) => entry.key)
      .filter((key) => key.startsWith('t.'));
    expect(keys).toEqual(['t.first.b', 't.first.c.d', `t.deep.${'a.'.repeat(MAX_CONFIG_DEPTH - 1)}x`, 't.last']);
    expect(() =>
      buildGgufMetadata({ architecture: 't', name: 'm', fileType: 2, config: { deep: { a: deepest } } }),
    ).toThrow(
      new QuantgateError(
        `config.json nests objects more than ${MAX_CONFIG_DEPTH} levels deep (at "deep.${'a.'.repeat(MAX_CONFIG_DEPTH - 1)}a"), deeper than any model config; fix or remove config.json`,
      ),
    );
  });

  test('the recorded version is the package version', async () => {
    const pkg = JSON.parse(await readFile(`${repoRoot}/package.json`, 'utf8')) as { version: string };
    expect(TOOL_VERSION).toBe(pkg.version);
  });
});

describe('GGUF metadata as written', () => {
  test("a dump of a quantized Kyutai STT model shows rope.freq_base as FLOAT32, the seed's keys and the Hub source", async () => {
    const config = JSON.parse(await readFile(join(repoRoot, 'test/fixtures/kyutai/lm_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const modelDir = await writeTestModel(join(await makeTempDir(), 'snapshot'), tinyModelTensors(), config);
    const { output } = await quantizeModel({
      model: modelDir,
      outDir: await makeTempDir(),
      repoId: 'kyutai/stt-1b-en_fr',
      revision: 'b'.repeat(40),
    });
    const gguf = await openGguf(output!.files[0]!);
    const dump = await dumpGguf(gguf).finally(() => gguf.close());
    // lm_config.json: dim 64, hidden_scale 4.125 (gated width 2·264/3 = 176), text_card 48, card 64.
    for (const line of [
      'kv general.architecture type=8 = "kyutai-stt"',
      'kv general.name type=8 = "stt-1b-en_fr"',
      'kv general.source.url type=8 = "https://huggingface.co/kyutai/stt-1b-en_fr"',
      'kv general.source.huggingface.repository type=8 = "kyutai/stt-1b-en_fr"',
      'kv kyutai-stt.context_length type=4 = 64',
      'kv kyutai-stt.embedding_length type=4 = 64',
      'kv kyutai-stt.block_count type=4 = 2',
      'kv kyutai-stt.feed_forward_length type=4 = 176',
      'kv kyutai-stt.attention.head_count type=4 = 4',
      'kv kyutai-stt.rope.freq_base type=6 = 100000',
      'kv kyutai-stt.vocab_size type=4 = 48',
      'kv kyutai-stt.audio_vocab_size type=4 = 65',
    ]) {
      expect(dump.split('\n')).toContain(line);
    }
  });

  test('a local folder gives its own name', async () => {
    const modelDir = await writeTestModel(join(await makeTempDir(), 'my-model'), tinyModelTensors(), {
      model_type: 'tiny-test',
    });
    const { output } = await quantizeModel({ model: `${modelDir}/`, outDir: await makeTempDir() });
    const gguf = await openGguf(output!.files[0]!);
    const dump = await dumpGguf(gguf).finally(() => gguf.close());
    expect(dump).toContain('kv general.name type=8 = "my-model"\n');
    expect(dump).not.toContain('general.source');
  });

  test('a config nested thousands of levels deep is a clean error before anything is shown or written', async () => {
    const modelDir = await writeTestModel(join(await makeTempDir(), 'deep'), tinyModelTensors());
    await writeFile(join(modelDir, 'config.json'), nestedConfig(5000));
    const outDir = await makeTempDir();
    const { code, stdout, stderr } = await runCli(['quantize', '--model', modelDir, '--out', `${outDir}/`]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^quantgate quantize: config\.json nests objects more than 32 levels deep \(at "(a\.){32}a"\), deeper than any model config; fix or remove config\.json\n$/,
    );
    expect(await readdir(outDir)).toEqual([]);
  });

  test("a config.json that is not JSON is named in words; JSON.parse's own text comes only with QUANTGATE_DEBUG=1", async () => {
    const modelDir = await writeTestModel(join(await makeTempDir(), 'broken'), tinyModelTensors());
    await writeFile(join(modelDir, 'config.json'), '{"dim": 64,');
    const outDir = await makeTempDir();
    const plain = await runCli(['quantize', '--model', modelDir, '--out', `${outDir}/`]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toBe(
      `quantgate quantize: ${join(modelDir, 'config.json')} is not valid JSON; fix or remove it\n`,
    );
    const debug = await runCli(['quantize', '--model', modelDir, '--out', `${outDir}/`], {
      env: { QUANTGATE_DEBUG: '1' },
    });
    const [line, ...detail] = debug.stderr.trimEnd().split('\n');
    expect(line).toBe(plain.stderr.trimEnd());
    expect(detail[0]).toMatch(/^caused by SyntaxError: .*JSON/);
    expect(await readdir(outDir)).toEqual([]);
  });
});
