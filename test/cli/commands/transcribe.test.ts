import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeWav } from '../../../src/audio/wav-writer.js';
import { EXIT_ERROR, EXIT_OK } from '../../../src/cli/command.js';
import { quantizeModel } from '../../../src/pipeline/quantize.js';
import { runCli } from '../../helpers/cli.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { SAMPLE_RATE, speak, tokenIds, writeCtcModelFolder } from '../../engines/onnx-ctc/ctc-test-model.js';

afterAll(removeTempDirs);

let modelDir: string;
let hello: string;
let old: string;
let gguf: string;
beforeAll(async () => {
  const dir = await makeTempDir();
  modelDir = await writeCtcModelFolder(join(dir, 'ctc'));
  hello = join(dir, 'hello world.wav');
  old = join(dir, 'old.wav');
  await writeFile(
    hello,
    encodeWav(speak(['h', 'e', 'l', '<pad>', 'l', 'o', '|', 'w', 'o', 'r', 'l', 'd']), SAMPLE_RATE, 'pcm16'),
  );
  await writeFile(old, encodeWav(speak(['<s>', 'o', 'l', 'd'], { tail: 9 }), SAMPLE_RATE, 'float32'));
  const shards = await quantizeModel({ model: modelDir, outDir: join(dir, 'out'), maxShardBytes: 500, threads: 1 });
  gguf = join(dir, 'out', 'ctc-q4-shards');
  expect(shards.output!.format).toBe('bytes');
});

describe('quantgate transcribe', () => {
  test('prints one transcript per file, in order, with the reference', async () => {
    const run = await runCli(['transcribe', '--model', modelDir, '--device', 'cpu', hello, old, hello]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toBe(`${hello}\thello world\n${old}\told\n${hello}\thello world\n`);
  });

  test('--json adds the engine, the device and the token ids; --device auto says why it took the CPU', async () => {
    const run = await runCli(['transcribe', '--model', modelDir, '--json', '--batch-size', '1', old]);
    expect(run.code).toBe(EXIT_OK);
    expect(
      run.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { file: old, text: 'old', engine: 'onnx-ctc', device: 'cpu', tokens: tokenIds(['<s>', 'o', 'l', 'd']) },
    ]);
    expect(run.stderr).toMatch(/^device: CPU, since no NVIDIA GPU is visible/);
  });

  test.each(['matmulnbits', 'dequant'])('--gguf runs the candidate from byte shards (%s)', async (mode) => {
    const run = await runCli([
      'transcribe',
      '--model',
      modelDir,
      '--device',
      'cpu',
      '--gguf',
      gguf,
      '--candidate-mode',
      mode,
      hello,
      old,
    ]);
    expect(run.code).toBe(EXIT_OK);
    expect(run.stdout).toBe(`${hello}\thello world\n${old}\told\n`);
    // Every tensor of the file reaches the graph: the two quantized weights and the F32 one.
    expect(run.stderr).toMatch(
      new RegExp(
        `onnx-ctc candidate \\(${mode}\\): 3 GGUF tensors .*, 1 \\(13\\) F16/F32 as dense weights; none missing`,
      ),
    );
  });

  test('the command engine runs the given command', async () => {
    const dir = await makeTempDir();
    const script = join(dir, 'echo-ids.mjs');
    await writeFile(
      script,
      `import { readFileSync, writeFileSync } from 'node:fs';
const [manifest, output, device] = process.argv.slice(2);
const lines = readFileSync(manifest, 'utf8').trim().split('\\n').map((line) => JSON.parse(line));
writeFileSync(output, lines.map((entry) => JSON.stringify({ id: entry.id, text: 'heard on ' + device })).join('\\n'));`,
    );
    const run = await runCli([
      'transcribe',
      '--model',
      dir,
      '--device',
      'cpu',
      '--engine',
      'command',
      '--json',
      '--reference-command',
      `node ${script} {manifest} {output} {device}`,
      '--candidate-command',
      `node ${script} {manifest} {output} {gguf}`,
      hello,
    ]);
    expect(run.code).toBe(EXIT_OK);
    expect(JSON.parse(run.stdout)).toEqual({ file: hello, text: 'heard on cpu', engine: 'command', device: 'cpu' });
  });

  test.each([
    [
      () => ['--model', modelDir],
      /^quantgate transcribe: no audio files given; pass WAV or FLAC files after the options$/,
    ],
    [() => [hello], /^quantgate transcribe: --model-path is required; see --help$/],
    [() => ['--model', modelDir, '--device', 'tpu', hello], /--device must be one of auto, cpu, cuda, got "tpu"/],
    [
      () => ['--model', modelDir, '--device', 'cpu', join(modelDir, 'absent.wav')],
      /^quantgate transcribe: cannot read .*absent\.wav \(.*ENOENT.*\); check the path$/,
    ],
    [
      () => ['--model', modelDir, '--device', 'cpu', join(modelDir, 'vocab.json')],
      /^quantgate transcribe: .*vocab\.json: the file starts with bytes 7b 22 3c 70, not WAV or FLAC; convert the audio to WAV or FLAC$/,
    ],
    [
      () => ['--model', join(modelDir, 'absent'), hello],
      /^quantgate transcribe: no engine can run .*absent \(command needs/,
    ],
    [
      () => ['--model', modelDir, '--device', 'cpu', '--gguf', join(modelDir, 'absent.gguf'), hello],
      /^quantgate transcribe: .*absent\.gguf cannot be opened/,
    ],
  ])('bad input gets one line and exit 2 (%#)', async (args, message) => {
    const run = await runCli(['transcribe', ...args()]);
    expect(run.code).toBe(EXIT_ERROR);
    expect(run.stderr.trim()).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
