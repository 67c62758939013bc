// What an action test evaluates, built in a temp folder: a tiny safetensors model, a test set of
// short WAV clips listed in a manifest, and command-engine templates running fake-stt.mjs, which
// "transcribes" from the true texts (the candidate dropping a word from every K-th utterance).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav } from '../../src/audio/wav-writer.js';
import { tinyModelTensors, writeTestModel } from '../helpers/model.js';

export const UTTERANCE_COUNT = 12;

const SENTENCES = [
  'the quick brown fox jumps over the lazy dog',
  'she sells sea shells by the sea shore today',
  'a stitch in time saves nine they always said',
  'every cloud has a silver lining after the rain',
  'the early bird catches the worm in the morning',
  'all that glitters is not gold my old friend',
  'actions speak louder than words in the long run',
  'better late than never is what we tell ourselves',
  'practice makes perfect when you keep at it daily',
  'the pen is mightier than the sword in most debates',
  'when in rome do as the romans do on holiday',
  'curiosity killed the cat but satisfaction brought it back',
];

export interface EvaluationFixture {
  modelDir: string;
  manifest: string;
  /** Words over all utterances. */
  words: number;
  /** The command-engine inputs: a faithful reference, and a candidate dropping a word from every K-th utterance (0: none). */
  commands(dropEvery: number): { 'reference-command': string; 'candidate-command': string };
}

export async function makeEvaluationFixture(dir: string): Promise<EvaluationFixture> {
  const modelDir = await writeTestModel(join(dir, 'model'), tinyModelTensors(), {
    architectures: ['TinyModel'],
    hidden_size: 64,
  });
  const dataDir = join(dir, 'data');
  await mkdir(join(dataDir, 'audio'), { recursive: true });
  const truth: Record<string, string> = {};
  const lines: string[] = [];
  for (const [index, text] of SENTENCES.slice(0, UTTERANCE_COUNT).entries()) {
    const id = `utt-${String(index).padStart(2, '0')}`;
    truth[id] = text;
    const samples = Float32Array.from(
      { length: 8000 },
      (_, i) => 0.1 * Math.sin((2 * Math.PI * (200 + 20 * index) * i) / 16000),
    );
    await writeFile(join(dataDir, 'audio', `${id}.wav`), encodeWav(samples, 16000, 'pcm16'));
    lines.push(JSON.stringify({ id, audio: `audio/${id}.wav`, text }));
  }
  const manifest = join(dataDir, 'manifest.jsonl');
  await writeFile(manifest, `${lines.join('\n')}\n`);
  const truthPath = join(dir, 'truth.json');
  await writeFile(truthPath, JSON.stringify(truth));
  const script = fileURLToPath(new URL('./fake-stt.mjs', import.meta.url));
  const run = `'${process.execPath}' '${script}' {manifest} {output} '${truthPath}'`;
  return {
    modelDir,
    manifest,
    words: Object.values(truth).reduce((sum, text) => sum + text.split(' ').length, 0),
    commands: (dropEvery) => ({ 'reference-command': run, 'candidate-command': `${run} --drop-every ${dropEvery}` }),
  };
}
