import { readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeWavChannels, parseWavHeader } from '../../../src/audio/wav.js';
import { QuantgateError } from '../../../src/common/errors.js';
import type { Utterance } from '../../../src/datasets/utterance.js';
import { createCommandEngineFactory, type CommandEngineOptions } from '../../../src/engines/command/engine.js';
import type { Engine, QuantizedModel, Variant } from '../../../src/engines/engine.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { hasEnded, recordedPid } from './processes.js';

// A stand-in for an STT runtime: records its arguments, manifest and WAV files into a run folder
// under $CAPTURE_DIR, talks on both streams, and answers "heard <id>" for every manifest entry.
const FAKE_STT = `
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
const [manifest, output] = process.argv.slice(2);
const run = join(process.env.CAPTURE_DIR, 'run-' + readdirSync(process.env.CAPTURE_DIR).length);
mkdirSync(run);
writeFileSync(join(run, 'args.json'), JSON.stringify(process.argv.slice(2)));
copyFileSync(manifest, join(run, 'manifest.jsonl'));
const entries = readFileSync(manifest, 'utf8').trim().split('\\n').map((line) => JSON.parse(line));
for (const entry of entries) copyFileSync(entry.audio, join(run, basename(entry.audio)));
console.error('fake stt: model loaded');
console.log('fake stt: ' + entries.length + ' utterances');
writeFileSync(output, entries.map((entry, i) => JSON.stringify({ id: entry.id, text: 'heard ' + entry.id, tokens: [i], score: 0.5 })).join('\\n') + '\\n');
`;

let script: string;
beforeAll(async () => {
  script = join(await makeTempDir(), 'fake-stt.mjs');
  await writeFile(script, FAKE_STT);
});
afterAll(removeTempDirs);

function utterance(id: string, length: number, sampleRate = 16000): Utterance {
  return {
    id,
    audio: Float32Array.from({ length }, (_, i) => 0.5 * Math.sin(i / 3 + length)),
    sampleRate,
    text: 'never sent to the engine',
  };
}

const reference: Variant = { kind: 'reference' };
function candidate(files: string[], format: QuantizedModel['format']): Variant {
  return {
    kind: 'candidate',
    quantized: {
      files,
      format,
      manifestPath: join(dirname(files[0]!), 'quantgate-manifest.json'),
      open: () => Promise.reject(new Error('the command engine never reads tensors')),
    },
  };
}

interface Capture {
  args: string[];
  manifest: { id: string; audio: string; duration: number }[];
  wav: (entry: { audio: string }) => Promise<Uint8Array>;
}

async function captured(captureDir: string): Promise<Capture[]> {
  const runs = (await readdir(captureDir)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  return Promise.all(
    runs.map(async (run) => ({
      args: JSON.parse(await readFile(join(captureDir, run, 'args.json'), 'utf8')) as string[],
      manifest: (await readFile(join(captureDir, run, 'manifest.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Capture['manifest'][number]),
      wav: async ({ audio }: { audio: string }) =>
        new Uint8Array(await readFile(join(captureDir, run, basename(audio)))),
    })),
  );
}

/** An engine over the fake runtime, with its own scratch and capture folders. */
async function fakeEngine(variant: Variant, options: Partial<CommandEngineOptions> = {}, modelDir = '/models/stt') {
  const scratch = join(await makeTempDir(), 'scratch');
  const captureDir = await makeTempDir();
  const command = `node ${script} {manifest} {output} {model_dir} {device}`;
  const factory = createCommandEngineFactory({
    referenceCommand: command,
    candidateCommand: `${command} {gguf}`,
    tempDir: scratch,
    env: { ...process.env, CAPTURE_DIR: captureDir },
    ...options,
  });
  const engine = await factory.open({ dir: modelDir }, variant, { device: 'cuda' });
  return { engine, scratch, captureDir };
}

describe('command engine: the protocol', () => {
  it('writes WAVs and a manifest, runs the reference command with its placeholders, and returns transcripts in order', async () => {
    const lines: string[] = [];
    const batch = [
      utterance('1089-134686-0000', 16000),
      utterance('id with "quotes" and spaces', 8001),
      utterance('3', 0),
    ];
    const { engine, scratch, captureDir } = await fakeEngine(reference, {
      logger: { info: (line) => lines.push(line) },
    });
    expect(engine).toMatchObject({ name: 'command', sampleRate: 16000, device: 'cuda' });

    const transcripts = await engine.transcribe(batch);
    expect(transcripts).toEqual(batch.map(({ id }, i) => ({ id, text: `heard ${id}`, tokens: [i] })));

    const [run, ...others] = await captured(captureDir);
    expect(others).toHaveLength(0);
    const [manifest, output, modelDir, device] = run!.args;
    expect(dirname(manifest!)).toBe(dirname(output!));
    expect(dirname(dirname(manifest!))).toBe(scratch);
    expect([basename(manifest!), basename(output!), modelDir, device]).toEqual([
      'manifest.jsonl',
      'output.jsonl',
      '/models/stt',
      'cuda',
    ]);
    expect(run!.manifest.map(({ id, duration }) => ({ id, duration }))).toEqual([
      { id: batch[0]!.id, duration: 1 },
      { id: batch[1]!.id, duration: 0.500062 },
      { id: '3', duration: 0 },
    ]);
    for (const [i, entry] of run!.manifest.entries()) {
      expect(dirname(entry.audio)).toBe(join(dirname(manifest!), 'audio'));
      const bytes = await run!.wav(entry);
      const header = parseWavHeader(bytes);
      expect(header).toMatchObject({
        sampleRate: 16000,
        channels: 1,
        bitsPerSample: 16,
        encoding: 'int',
        frames: batch[i]!.audio.length,
      });
      const [samples] = decodeWavChannels(bytes, header);
      expect(samples!.every((value, j) => Math.abs(value - batch[i]!.audio[j]!) <= 0.5 / 32768)).toBe(true);
    }
    expect(lines).toEqual([
      'reference command: transcribing 3 utterances',
      'reference command: fake stt: model loaded',
      'reference command: fake stt: 3 utterances',
    ]);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('passes the candidate its GGUF: the file itself, the first split, or the folder of byte shards', async () => {
    const variants: [Variant, string][] = [
      [candidate(['/out/model-q4_0.gguf'], 'single'), '/out/model-q4_0.gguf'],
      [
        candidate(['/out/m-00001-of-00002.gguf', '/out/m-00002-of-00002.gguf'], 'gguf-split'),
        '/out/m-00001-of-00002.gguf',
      ],
      [candidate(['/out/shards/shard-aa', '/out/shards/shard-ab'], 'bytes'), '/out/shards'],
    ];
    for (const [variant, gguf] of variants) {
      const { engine, captureDir } = await fakeEngine(variant);
      await engine.transcribe([utterance('a', 100)]);
      const [run] = await captured(captureDir);
      expect(run!.args.slice(2)).toEqual(['/models/stt', 'cuda', gguf]);
    }
  });

  it('quotes paths holding spaces, quotes, $ and backticks', async () => {
    const odd = `dir with 'single' "double" $HOME \`x\``;
    const modelDir = join(await makeTempDir(), odd, 'model');
    const tempDir = join(await makeTempDir(), odd);
    const { engine, captureDir } = await fakeEngine(reference, { tempDir }, modelDir);
    await engine.transcribe([utterance('a', 160)]);
    const [run] = await captured(captureDir);
    expect(dirname(dirname(run!.args[0]!))).toBe(tempDir);
    expect(run!.args[2]).toBe(modelDir);
    expect(parseWavHeader(await run!.wav(run!.manifest[0]!)).frames).toBe(160);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('runs one command per batchSize utterances and joins the transcripts in order', async () => {
    const batch = ['a', 'b', 'c', 'd', 'e'].map((id) => utterance(id, 10));
    const { engine, captureDir } = await fakeEngine(reference, { batchSize: 2 });
    expect((await engine.transcribe(batch)).map(({ id }) => id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await captured(captureDir)).map((run) => run.manifest.map(({ id }) => id))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e'],
    ]);
  });

  it('writes float32 WAVs at the configured rate when asked', async () => {
    const batch = [utterance('a', 400, 8000)];
    const { engine, captureDir } = await fakeEngine(reference, { sampleRate: 8000, wavEncoding: 'float32' });
    expect(engine.sampleRate).toBe(8000);
    await engine.transcribe(batch);
    const [run] = await captured(captureDir);
    const bytes = await run!.wav(run!.manifest[0]!);
    const header = parseWavHeader(bytes);
    expect(header).toMatchObject({ sampleRate: 8000, encoding: 'float', bitsPerSample: 32 });
    expect(decodeWavChannels(bytes, header)[0]).toEqual(batch[0]!.audio);
    expect(run!.manifest[0]!.duration).toBe(0.05);
  });

  it('runs nothing for an empty batch', async () => {
    const { engine, scratch, captureDir } = await fakeEngine(reference);
    expect(await engine.transcribe([])).toEqual([]);
    expect(await readdir(captureDir)).toEqual([]);
    await expect(readdir(scratch)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a batch at another rate than it asked for, or with a repeated id', async () => {
    const { engine, captureDir } = await fakeEngine(reference);
    await expect(engine.transcribe([utterance('a', 10, 8000)])).rejects.toThrow(
      'utterance a is at 8000 Hz but the command engine asked for 16000 Hz',
    );
    await expect(engine.transcribe([utterance('a', 10), utterance('a', 20)])).rejects.toThrow(
      new QuantgateError(
        'utterance id "a" appears twice; the command protocol needs unique ids — fix the dataset manifest',
      ),
    );
    expect(await readdir(captureDir)).toEqual([]);
  });
});

describe('command engine: failures', () => {
  const batch = ['a', 'b', 'c'].map((id) => utterance(id, 32));

  /** Runs `command` as the reference over a/b/c and returns the error's message, after checking nothing is left behind. */
  async function failure(
    command: string,
    options: Partial<CommandEngineOptions> = {},
    signal?: AbortSignal,
  ): Promise<string> {
    const scratch = await makeTempDir();
    const factory = createCommandEngineFactory({
      referenceCommand: command,
      candidateCommand: 'true {manifest} {output}',
      tempDir: scratch,
      ...options,
    });
    const engine = await factory.open({ dir: '/models/stt' }, reference, { device: 'cpu' });
    const error = await engine.transcribe(batch, signal).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(await readdir(scratch)).toEqual([]);
    if (signal) return String(error);
    expect(error).toBeInstanceOf(QuantgateError);
    const { message } = error as QuantgateError;
    expect(message).not.toMatch(/\n/);
    return message;
  }

  const output = (...lines: string[]) =>
    `: {manifest}; printf '%s\\n' ${lines.map((line) => `'${line}'`).join(' ')} > {output}`;

  it('non-zero exit: names the code and quotes the last stderr lines', async () => {
    const message = await failure(
      ': {manifest} {output}; i=1; while [ $i -le 12 ]; do echo "problem $i" >&2; i=$((i+1)); done; exit 3',
    );
    expect(message).toBe(
      `reference command exited with code 3 (stderr: ${Array.from({ length: 10 }, (_, i) => `problem ${i + 3}`).join(' ⏎ ')}); fix the command so that it exits with 0 after writing {output} (run it by hand on a manifest of a few WAV files to debug it)`,
    );
  });

  it('killed by a signal', async () => {
    expect(await failure(': {manifest} {output}; kill -9 $$')).toBe(
      'reference command was killed by SIGKILL (no stderr); it may have run out of memory — lower the batch size, or run the command by hand to see what stopped it',
    );
  });

  it('timeout: stops the command and everything it started within the second', async () => {
    const pidFile = join(await makeTempDir(), 'pid');
    const started = Date.now();
    const message = await failure(
      `: {manifest} {output}; echo 'waiting for the model' >&2; sleep 30 & echo $! > '${pidFile}'; wait`,
      { timeoutSeconds: 1 },
    );
    expect(Date.now() - started).toBeLessThan(4000);
    expect(message).toBe(
      'reference command did not finish within 1 s and was stopped (stderr: waiting for the model); raise the command timeout, or find where the command hangs',
    );
    expect(await hasEnded(await recordedPid(pidFile))).toBe(true);
  });

  it('abort: stops the command and rejects with the reason', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('evaluation cancelled')), 300);
    expect(await failure(': {manifest} {output}; sleep 30', {}, controller.signal)).toBe('Error: evaluation cancelled');
  });

  it('missing output file', async () => {
    expect(await failure(': {manifest} {output}; echo done >&2')).toBe(
      'reference command wrote no output file (stderr: done); write the transcripts as JSON lines to the path given by {output}',
    );
  });

  // Node's own errors come from another realm under jest, where describeError prints them with their class name.
  it('output that is not a file', async () => {
    expect(await failure(': {manifest}; mkdir {output}')).toMatch(
      /^reference command left an output file that cannot be read \((Error: )?EISDIR: .*\(no stderr\); write the transcripts as a plain JSON-lines file/,
    );
  });

  it('missing ids: counts them and names the first few', async () => {
    expect(await failure(output('{"id":"b","text":"x"}'))).toBe(
      'reference command wrote no line for 2 of 3 utterances ("a", "c") (no stderr); write exactly one JSON line {"id": ..., "text": ...} per manifest entry, with the id copied unchanged, even when the transcript is empty',
    );
  });

  it('duplicate id: names both lines', async () => {
    expect(await failure(output('{"id":"a","text":"x"}', '{"id":"b","text":"y"}', '{"id":"a","text":"z"}'))).toMatch(
      /^reference command output lines 1 and 3 both have id "a" \(no stderr\); write exactly one JSON line/,
    );
  });

  it('unknown id', async () => {
    expect(await failure(output('{"id":"a","text":"x"}', '{"id":"a.flac","text":"y"}'))).toMatch(
      /^reference command output line 2 has id "a.flac", which is not in the manifest/,
    );
  });

  it('malformed lines: the line number counts blank lines, which are otherwise skipped', async () => {
    expect(await failure(output('{"id":"a","text":"x"}', '', 'Transcribing...'))).toBe(
      'reference command output line 3 is not valid JSON (it starts "Transcribing...") (no stderr); write one JSON object per line, with no other output in that file',
    );
    expect(await failure(output('["a","x"]'))).toMatch(/^reference command output line 1 is not a JSON object/);
    expect(await failure(output('{"text":"x"}'))).toMatch(/^reference command output line 1 has no string "id"/);
    expect(await failure(output('{"id":"a","text":null}'))).toMatch(
      /^reference command output line 1 \(id "a"\) has no string "text"/,
    );
    expect(await failure(output('{"id":"a","text":"x","tokens":[1,2.5]}'))).toMatch(
      /^reference command output line 1 \(id "a"\) has "tokens" that are not an array of integers/,
    );
  });

  it('keeps secrets out of the message: tokens from the environment and the given secrets', async () => {
    const env = { ...process.env, HF_TOKEN: 'hf_0123456789abcdef', TOKENIZERS_PARALLELISM: 'false' };
    const lines: string[] = [];
    const message = await failure(
      ': {manifest} {output}; echo "auth $HF_TOKEN with pass-phrase-42 parallel=$TOKENIZERS_PARALLELISM" >&2; exit 1',
      {
        env,
        secrets: ['pass-phrase-42'],
        logger: { info: (line) => lines.push(line) },
      },
    );
    expect(message).toMatch(
      /^reference command exited with code 1 \(stderr: auth \*\*\* with \*\*\* parallel=false\);/,
    );
    expect(lines).toContain('reference command: auth *** with *** parallel=false');
  });
});

describe('command engine: configuration', () => {
  const both = { referenceCommand: 'ref {manifest} {output}', candidateCommand: 'cand {gguf} {manifest} {output}' };

  it('accepts any model once both commands are configured, and none otherwise', async () => {
    expect(await createCommandEngineFactory(both).accepts({ dir: '/anything' })).toBe(true);
    const unconfigured = createCommandEngineFactory({});
    expect(unconfigured.name).toBe('command');
    expect(await unconfigured.accepts({ dir: '/anything' })).toBe(false);
    await expect(unconfigured.open({ dir: '/anything' }, reference, { device: 'cpu' })).rejects.toThrow(
      new QuantgateError(
        'the command engine has no commands to run; configure both the reference and the candidate command templates',
      ),
    );
  });

  it('refuses bad templates before anything runs', () => {
    const cases: [Partial<CommandEngineOptions>, string][] = [
      [
        { referenceCommand: both.referenceCommand },
        'the command engine has a reference command but no candidate command; configure both, as the gate compares the two',
      ],
      [
        { ...both, referenceCommand: 'ref {manifest} {output} {gguf}' },
        'reference command uses {gguf}, which names the quantized model and exists only for the candidate command; load the original weights from {model_dir}',
      ],
      [
        { ...both, candidateCommand: 'cand {gguf} {manifest} > out.jsonl' },
        'candidate command never uses {output}, so it cannot know which file to write; pass {manifest} and {output} to it',
      ],
      [
        { ...both, referenceCommand: 'ref {output}' },
        'reference command never uses {manifest}, so it cannot know which file to read; pass {manifest} and {output} to it',
      ],
    ];
    for (const [options, message] of cases)
      expect(() => createCommandEngineFactory(options)).toThrow(new QuantgateError(message));
    expect(() => createCommandEngineFactory({ ...both, candidateCommand: 'cand {model} {manifest} {output}' })).toThrow(
      /^candidate command: unknown placeholder \{model\}; the placeholders are \{manifest\}, \{output\}, \{model_dir\}, \{gguf\}, \{device\}/,
    );
  });

  it('refuses impossible settings', () => {
    expect(() => createCommandEngineFactory({ ...both, sampleRate: 16000.5 })).toThrow(
      /sample rate 16000.5 is not a positive whole number/,
    );
    expect(() => createCommandEngineFactory({ ...both, timeoutSeconds: 0 })).toThrow(
      /command timeout 0 s is not a positive number/,
    );
    expect(() => createCommandEngineFactory({ ...both, batchSize: -1 })).toThrow(
      /command batch size -1 is not a positive whole number/,
    );
  });

  it('reports a temp folder it cannot use', async () => {
    const file = join(await makeTempDir(), 'a-file');
    await writeFile(file, '');
    const engine: Engine = await createCommandEngineFactory({ ...both, tempDir: join(file, 'scratch') }).open(
      { dir: '/m' },
      reference,
      { device: 'cpu' },
    );
    await expect(engine.transcribe([utterance('a', 1)])).rejects.toThrow(
      /^cannot make a scratch folder in .*a-file\/scratch \((Error: )?ENOTDIR: .*\); choose a writable temp folder$/,
    );
  });
});
