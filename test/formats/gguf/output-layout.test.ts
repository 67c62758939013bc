import { join } from 'node:path';
import {
  defaultOutputName,
  manifestCandidates,
  manifestPath,
  outputBaseName,
  outputPaths,
} from '../../../src/formats/gguf/output-layout.js';

describe('output layout', () => {
  test('every format and the manifest under one base name', () => {
    expect(outputPaths('out', 'm-q4')).toEqual({
      single: join('out', 'm-q4.gguf'),
      bytes: join('out', 'm-q4-shards'),
      'gguf-split': join('out', 'm-q4-split'),
    });
    expect(manifestPath('out', 'm-q4')).toBe(join('out', 'm-q4.manifest.json'));
    expect(defaultOutputName('stt-1b-en_fr', 'q4_0')).toBe('stt-1b-en_fr-q4');
    expect(defaultOutputName('m', 'f16')).toBe('m-f16');
  });

  test('the base name of any output path, and where its manifest would be', () => {
    for (const path of [
      'out/m-q4.gguf',
      'out/m-q4-shards',
      'out/m-q4-shards/',
      'out/m-q4-split',
      'out/m-q4.manifest.json',
    ]) {
      expect(outputBaseName(path)).toBe('m-q4');
    }
    expect(outputBaseName('out/m-q4-split/m-q4-00001-of-00003.gguf')).toBe('m-q4');
    expect(manifestCandidates('out/m-q4-shards/')[0]).toBe(join('out', 'm-q4.manifest.json'));
    expect(manifestCandidates('out/m-q4-split/m-q4-00002-of-00003.gguf')).toContain(join('out', 'm-q4.manifest.json'));
  });
});
