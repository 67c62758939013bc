// The files a command reads: one mono WAV per utterance and the manifest listing them, one JSON
// line {"id", "audio", "duration"} each. They go into a run's scratch folder, which the engine
// removes as a whole afterwards (on failure too), so they need no atomic writes of their own.

import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Utterance } from '../../datasets/utterance.js';
import { encodeWav, type WavEncoding } from '../../audio/wav-writer.js';

/**
 * Writes `<dir>/audio/<n>.wav` for each utterance (numbered, since ids may hold any character)
 * and `<dir>/manifest.jsonl`; returns the manifest's path. `dir` must be absolute, as the paths
 * in the manifest are built from it.
 */
export async function writeBatchInput(
  dir: string,
  utterances: readonly Utterance[],
  encoding: WavEncoding,
): Promise<string> {
  const audioDir = join(dir, 'audio');
  await mkdir(audioDir);
  const manifestPath = join(dir, 'manifest.jsonl');
  const manifest = await open(manifestPath, 'wx');
  try {
    const digits = String(utterances.length).length;
    for (const [index, { id, audio: samples, sampleRate }] of utterances.entries()) {
      const audio = join(audioDir, `${String(index + 1).padStart(digits, '0')}.wav`);
      await writeFile(audio, encodeWav(samples, sampleRate, encoding));
      // Microseconds: enough for any rate, and free of float noise such as 2.0000624999999998.
      const duration = Math.round((samples.length / sampleRate) * 1e6) / 1e6;
      await manifest.write(`${JSON.stringify({ id, audio, duration })}\n`);
    }
  } finally {
    await manifest.close();
  }
  return manifestPath;
}
