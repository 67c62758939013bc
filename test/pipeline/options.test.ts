import { optionValues } from '../../src/common/option-values.js';
import { DEFAULT_RUN_OPTIONS, readRunOptions } from '../../src/pipeline/options.js';

describe('run options', () => {
  test('nothing given means the defaults: the demo model, Q4_0 in 512 MB byte shards, whisper, 2 points', () => {
    const options = readRunOptions(optionValues({}));
    expect(options).toEqual({ ...DEFAULT_RUN_OPTIONS, columns: { audio: undefined, text: undefined, id: undefined } });
    expect(options.modelId).toBeUndefined();
    expect(options.maxShardBytes).toBe(512 * 1024 * 1024);
    expect(options.threshold).toBe(2);
    expect(options.maxSamples).toBe(100);
  });

  test('LibriSpeech is pinned to one commit unless a revision is given; any other dataset defaults to main', () => {
    const pin = '71cacbfb7e2354c4226d01e70d77d5fca3d04ba1';
    expect(DEFAULT_RUN_OPTIONS.datasetRevision).toBe(pin);
    expect(readRunOptions(optionValues({})).datasetRevision).toBe(pin);
    expect(readRunOptions(optionValues({ dataset: 'openslr/librispeech_asr' })).datasetRevision).toBe(pin);
    expect(readRunOptions(optionValues({ dataset: 'org/other' })).datasetRevision).toBe('main');
    expect(
      readRunOptions(optionValues({ dataset: 'openslr/librispeech_asr', 'dataset-revision': 'main' })).datasetRevision,
    ).toBe('main');
  });

  test('--keep-single-file is read as a switch, unset by default', () => {
    expect(readRunOptions(optionValues({})).keepSingleFile).toBeUndefined();
    expect(readRunOptions(optionValues({ 'keep-single-file': false })).keepSingleFile).toBe(false);
  });

  test('values are read and converted', () => {
    const options = readRunOptions(
      optionValues({
        'model-id': 'kyutai/stt-1b-en_fr',
        'max-shard-size': '0.5',
        keep: ['a.*,b.*'],
        shard: '2/4',
        'max-samples': '0',
        threshold: '1.5',
        'gate-mode': 'strict',
        offline: true,
      }),
    );
    expect(options).toMatchObject({
      modelId: 'kyutai/stt-1b-en_fr',
      maxShardBytes: 524288,
      keep: ['a.*', 'b.*'],
      shard: { index: 1, count: 4 },
      maxSamples: 0,
      threshold: 1.5,
      gateMode: 'strict',
      offline: true,
    });
  });

  test.each([
    [{ 'quant-type': 'q3_k' }, '--quant-type must be one of q4_0, q8_0, f16, f32, got "q3_k"'],
    [{ threshold: '-1' }, '--threshold must be a number ≥ 0, got "-1"'],
    [{ shard: '5/4' }, '--shard must be I/N with 1 ≤ I ≤ N'],
    [{ 'reference-command': 'x {manifest} {output}' }, '--reference-command and --candidate-command go together'],
    [{ 'model-id': 'a/b', 'model-path': '/m' }, '--model-id and --model-path both name a model'],
  ])('%j is refused in one line', (record, message) => {
    expect(() => readRunOptions(optionValues(record))).toThrow(message);
  });
});
