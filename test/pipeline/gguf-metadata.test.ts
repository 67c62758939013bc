import { readFile } from 'node:fs/promises';
import { GgufValueType } from '../../src/formats/gguf/constants.js';
import { buildGgufMetadata } from '../../src/pipeline/gguf-metadata.js';
import { TOOL_VERSION } from '../../src/version.js';
import { repoRoot } from '../helpers/paths.js';

describe('GGUF metadata of a quantized model', () => {
  const entries = buildGgufMetadata({
    architecture: 'kyutai-stt',
    name: 'stt-1b-en_fr',
    fileType: 2,
    repoId: 'kyutai/stt-1b-en_fr',
    revision: 'a'.repeat(40),
    config: { dim: 2048, num_heads: 16, num_layers: 16, context: 750, max_period: 100000, hidden_scale: 4.125, delays: [0, 0], stt_config: { audio_delay_seconds: 0.5 }, lm_gen_config: null, moshi_name: 'model.safetensors' },
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

  test('source and tool are recorded', () => {
    expect(byKey.get('quantgate.source.repo_id')?.value).toBe('kyutai/stt-1b-en_fr');
    expect(byKey.get('quantgate.source.revision')?.value).toBe('a'.repeat(40));
    expect(byKey.get('quantgate.tool.name')?.value).toBe('quantgate');
    expect(byKey.get('quantgate.tool.version')?.value).toBe(TOOL_VERSION);
  });

  test('hyper-parameters take llama.cpp names under the architecture, the rest keep theirs', () => {
    expect(byKey.get('kyutai-stt.embedding_length')).toMatchObject({ type: GgufValueType.UINT32, value: 2048 });
    expect(byKey.get('kyutai-stt.block_count')?.value).toBe(16);
    expect(byKey.get('kyutai-stt.attention.head_count')?.value).toBe(16);
    expect(byKey.get('kyutai-stt.context_length')?.value).toBe(750);
    expect(byKey.get('kyutai-stt.rope.freq_base')?.value).toBe(100000);
    expect(byKey.get('kyutai-stt.hidden_scale')).toMatchObject({ type: GgufValueType.FLOAT32, value: 4.125 });
    expect(byKey.get('kyutai-stt.delays')).toMatchObject({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: [0, 0] });
    expect(byKey.get('kyutai-stt.stt_config.audio_delay_seconds')?.value).toBe(0.5);
    expect(byKey.has('kyutai-stt.dim')).toBe(false);
    expect(byKey.has('kyutai-stt.lm_gen_config')).toBe(false);
  });

  test('the recorded version is the package version', async () => {
    const pkg = JSON.parse(await readFile(`${repoRoot}/package.json`, 'utf8')) as { version: string };
    expect(TOOL_VERSION).toBe(pkg.version);
  });
});
