import { selectParquetFiles } from '../../src/datasets/parquet-files.js';

// openslr/librispeech_asr on the Hub: three configs; test.clean also appears as clean/test.
const librispeech = [
  'README.md',
  '.gitattributes',
  'all/test.clean/0000.parquet',
  'all/test.other/0000.parquet',
  'all/train.clean.100/0000.parquet',
  'all/train.clean.100/0001.parquet',
  'all/validation.clean/0000.parquet',
  'clean/test/0000.parquet',
  'clean/train.100/0001.parquet',
  'clean/train.100/0000.parquet',
  'clean/validation/0000.parquet',
  'other/test/0000.parquet',
  'other/train.500/0000.parquet',
];

describe('selectParquetFiles', () => {
  it('finds LibriSpeech test-clean under either config', () => {
    expect(selectParquetFiles(librispeech, { config: 'clean', split: 'test' })).toEqual(['clean/test/0000.parquet']);
    expect(selectParquetFiles(librispeech, { config: 'all', split: 'test.clean' })).toEqual([
      'all/test.clean/0000.parquet',
    ]);
    expect(selectParquetFiles(librispeech, { split: 'test.clean' })).toEqual(['all/test.clean/0000.parquet']);
  });

  it('returns a multi-file split in name order', () => {
    expect(selectParquetFiles(librispeech, { config: 'clean', split: 'train.100' })).toEqual([
      'clean/train.100/0000.parquet',
      'clean/train.100/0001.parquet',
    ]);
  });

  it('refuses a split that several configs hold, naming them', () => {
    expect(() => selectParquetFiles(librispeech, { split: 'test' })).toThrow(
      'split "test" exists in configs clean, other; set --dataset-config to one of them',
    );
  });

  it('names the folders it has when nothing matches', () => {
    expect(() => selectParquetFiles(librispeech, { config: 'clean', split: 'dev' })).toThrow(
      /^no parquet files for split "dev" of config "clean" among all\/test\.clean\/, all\/test\.other\/, .* and \d+ more; set --dataset-config and --dataset-split/,
    );
    expect(() => selectParquetFiles(['README.md', 'data.csv'], { split: 'test' })).toThrow(/has no parquet files/);
  });

  it('reads push_to_hub layouts, with and without a config folder', () => {
    const pushed = [
      'data/train-00000-of-00002.parquet',
      'data/train-00001-of-00002.parquet',
      'data/test-00000-of-00001.parquet',
    ];
    expect(selectParquetFiles(pushed, { split: 'test' })).toEqual(['data/test-00000-of-00001.parquet']);
    expect(selectParquetFiles(pushed, { config: 'default', split: 'train' })).toEqual(pushed.slice(0, 2));
    const configs = [
      'en/test-00000-of-00001-0123abcd.parquet',
      'fr/test-00000-of-00001.parquet',
      'en/train-00000-of-00001.parquet',
    ];
    expect(selectParquetFiles(configs, { config: 'en', split: 'test' })).toEqual([
      'en/test-00000-of-00001-0123abcd.parquet',
    ]);
    expect(() => selectParquetFiles(configs, { split: 'test' })).toThrow('split "test" exists in configs en, fr');
  });

  it('reads refs/convert/parquet layouts, including partial conversions', () => {
    const converted = [
      'default/train/0000.parquet',
      'default/partial-test/0000.parquet',
      'default/partial-test/0001.parquet',
    ];
    expect(selectParquetFiles(converted, { config: 'default', split: 'train' })).toEqual([
      'default/train/0000.parquet',
    ]);
    expect(selectParquetFiles(converted, { config: 'default', split: 'test' })).toEqual([
      'default/partial-test/0000.parquet',
      'default/partial-test/0001.parquet',
    ]);
  });

  it('falls back to the split as a delimited word of the path', () => {
    const named = ['my_test_file.parquet', 'my_train_file.parquet', 'testing/other.parquet', 'latest.parquet'];
    expect(selectParquetFiles(named, { split: 'test' })).toEqual(['my_test_file.parquet']);
    expect(selectParquetFiles(['test.parquet', 'train.parquet'], { split: 'test' })).toEqual(['test.parquet']);
  });
});
