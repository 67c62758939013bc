// A stand-in speech recognizer for the action's tests, run by the command engine: for each
// utterance of the manifest it writes the true transcript from a JSON map of id → text, with the
// last word dropped from every K-th utterance when `--drop-every K` is given (a "degraded model").
// FAKE_STT_DELAY_MS makes it take that long first, like a slow model; FAKE_STT_STARTED names a
// file it creates as it starts, so a test knows the engine is running.
//
//   node fake-stt.mjs <manifest> <output> <truth.json> [--drop-every K]

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

if (process.env.FAKE_STT_STARTED) appendFileSync(process.env.FAKE_STT_STARTED, `${process.pid}\n`);
await sleep(Number(process.env.FAKE_STT_DELAY_MS ?? 0));

const [manifestPath, outputPath, truthPath, flag, every] = process.argv.slice(2);
const truth = JSON.parse(readFileSync(truthPath, 'utf8'));
const dropEvery = flag === '--drop-every' ? Number(every) : 0;
const lines = readFileSync(manifestPath, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line))
  .map(({ id }) => {
    const words = truth[id].split(' ');
    const index = Number(id.split('-').pop());
    const text = dropEvery > 0 && index % dropEvery === 0 ? words.slice(0, -1).join(' ') : words.join(' ');
    return JSON.stringify({ id, text });
  });
writeFileSync(outputPath, `${lines.join('\n')}\n`);
