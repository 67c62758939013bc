// Audio front end speed: FLAC decoding (with its MD5 check) and resampling to the engines' rates,
// on LibriSpeech-like speech (16 kHz FLAC utterances of about 16 s) synthesized with espeak-ng.
// Figures are × real time per core: seconds of audio per second of this process's CPU time (the
// work is single-threaded, and CPU time is steadier than wall time on a shared machine). Native
// libFLAC (`flac -t`, which also checks the MD5) on the same files is the baseline.

import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AudioDecoder, type DecodedAudio } from '../src/audio/decode.js';
import { Resampler } from '../src/audio/resample.js';

const SENTENCES = [
  'He hoped there would be stew for dinner, turnips and carrots and bruised potatoes and fat mutton pieces to be ladled out in thick peppered flour fattened sauce.',
  'Stuff it into you, his belly counselled him, after early nightfall the yellow lamps would light up, here and there, the squalid quarter of the brothels.',
  'The quick brown fox jumps over the lazy dog while the patient farmer counts his sheep beneath a pale and distant winter sun.',
  'Every cloud has a silver lining, said the old sailor, as the storm rolled past the harbour and the gulls returned to the empty piers.',
];
const UTTERANCES = 18;
const REPEATS = 3;

export const bench = {
  name: 'audio',
  summary: 'FLAC decode + resample 16 kHz → 24 kHz and 16 kHz passthrough, × real time per core',
  run: async () => {
    const missing = ['espeak-ng', 'flac'].filter((tool) => spawnSync(tool, ['--version']).error);
    if (missing.length > 0) {
      console.log(`skipped: needs ${missing.join(' and ')} on PATH to synthesize the speech`);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'quantgate-bench-audio-'));
    try {
      const files = await synthesize(dir);
      const flacs = await Promise.all(files.map(async (file) => new Uint8Array(await readFile(file))));
      const decoder = new AudioDecoder();
      const to24k = new Resampler(24000);
      const to16k = new Resampler(16000);
      try {
        const decoded: DecodedAudio[] = [];
        for (const bytes of flacs) decoded.push(await decoder.decode(bytes));
        const seconds = decoded.reduce((sum, { samples }) => sum + samples.length, 0) / 16000;
        const size = flacs.reduce((sum, bytes) => sum + bytes.length, 0);
        console.log(
          `${files.length} utterances, ${seconds.toFixed(1)} s of 16 kHz speech, ${(size / 1024).toFixed(0)} KiB of FLAC; load average ${loadavg()[0].toFixed(1)}`,
        );

        const row = (label: string, { cpu, wall }: Timing) =>
          console.log(
            `${label.padEnd(40)} ${(seconds / cpu).toFixed(0).padStart(6)}× real time per core   (${(cpu * 1000).toFixed(0)} ms CPU, ${(wall * 1000).toFixed(0)} ms wall)`,
          );
        const native = nativeDecodeSeconds(files);
        console.log(
          `${'baseline: native libFLAC (flac -t)'.padEnd(40)} ${(seconds / native).toFixed(0).padStart(6)}× real time per core   (${(native * 1000).toFixed(0)} ms CPU)`,
        );
        const decode = await fastest(async () => {
          for (const bytes of flacs) await decoder.decode(bytes);
        });
        row('FLAC decode (wasm libFLAC + MD5 check)', decode);
        row(
          'resample 16 kHz → 24 kHz (sinc medium)',
          await fastest(async () => {
            for (const { samples } of decoded) await to24k.resample(samples, 16000);
          }),
        );
        const pipeline24 = await fastest(async () => {
          for (const bytes of flacs) await to24k.resample((await decoder.decode(bytes)).samples, 16000);
        });
        row('decode + resample → 24 kHz', pipeline24);
        row(
          'decode + passthrough → 16 kHz',
          await fastest(async () => {
            for (const bytes of flacs) await to16k.resample((await decoder.decode(bytes)).samples, 16000);
          }),
        );
        console.log(
          `FLAC decode takes ${(decode.cpu / native).toFixed(1)}× native libFLAC's CPU time; decode + resample → 24 kHz runs at ${(seconds / pipeline24.cpu).toFixed(0)}× real time per core (target ≥ 100×)`,
        );
      } finally {
        decoder.close();
        await Promise.all([to24k.close(), to16k.close()]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** espeak-ng speaks at 22.05 kHz; each utterance is resampled to 16 kHz and encoded with flac. */
async function synthesize(dir: string): Promise<string[]> {
  const decoder = new AudioDecoder();
  const resampler = new Resampler(16000);
  const files: string[] = [];
  try {
    for (let i = 0; i < UTTERANCES; i++) {
      const wav = join(dir, `${i}.wav`);
      run('espeak-ng', [
        '-v',
        'en-us',
        '-w',
        wav,
        `${SENTENCES[i % SENTENCES.length]} ${SENTENCES[(i + 1) % SENTENCES.length]}`,
      ]);
      const speech = await decoder.decode(new Uint8Array(await readFile(wav)));
      const samples = await resampler.resample(speech.samples, speech.sampleRate);
      const pcm = Buffer.alloc(samples.length * 2);
      samples.forEach((value, at) =>
        pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(value * 32768))), at * 2),
      );
      const flac = join(dir, `${i}.flac`);
      run(
        'flac',
        [
          '--silent',
          '--force',
          '--force-raw-format',
          '--endian=little',
          '--sign=signed',
          '--channels=1',
          '--bps=16',
          '--sample-rate=16000',
          '-o',
          flac,
          '-',
        ],
        pcm,
      );
      files.push(flac);
    }
  } finally {
    decoder.close();
    await resampler.close();
  }
  return files;
}

function run(command: string, args: string[], input?: Buffer): void {
  const result = spawnSync(command, args, { input });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr?.toString() ?? result.error?.message}`);
}

/** CPU seconds `flac -t` needs for the files (fastest of REPEATS), as bash's `times` reports for its children. */
function nativeDecodeSeconds(files: string[]): number {
  let fastest = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const result = spawnSync('bash', ['-c', 'flac -t -s "$@" && times', 'bench', ...files], { encoding: 'utf8' });
    const children = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(result.stdout);
    if (result.status !== 0 || !children) throw new Error(`flac -t failed: ${result.stderr}`);
    const [, userMinutes, userSeconds, systemMinutes, systemSeconds] = children.map(Number);
    fastest = Math.min(fastest, 60 * (userMinutes + systemMinutes) + userSeconds + systemSeconds);
  }
  return fastest;
}

interface Timing {
  cpu: number;
  wall: number;
}

/** The fastest of REPEATS runs after a warm-up, in seconds of CPU and wall time. */
async function fastest(work: () => Promise<void>): Promise<Timing> {
  let best: Timing = { cpu: Infinity, wall: Infinity };
  for (let i = 0; i <= REPEATS; i++) {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    await work();
    const cpu = process.cpuUsage(cpuStart);
    const timing = { cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - wallStart) / 1000 };
    if (i > 0 && timing.cpu < best.cpu) best = timing;
  }
  return best;
}
