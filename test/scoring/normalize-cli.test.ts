import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { normalizeCommand } from '../../src/cli/commands/normalize.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../../src/cli/command.js';
import { optionValues } from '../../src/common/option-values.js';
import { runCli } from '../helpers/cli.js';

/** Streams the command reads and writes as the test drives them, which runCli's whole strings cannot show. */
function streamingContext(stdout: NodeJS.WritableStream = new PassThrough()): CommandContext & { stdin: PassThrough } {
  return { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {} };
}

async function normalizeText(input: string, options: string[] = []): Promise<string> {
  const run = await runCli(['normalize', ...options], { stdin: input });
  expect(run).toMatchObject({ code: EXIT_OK, stderr: '' });
  return run.stdout;
}

describe('quantgate normalize', () => {
  test('writes one normalized line per input line, with the whisper normalizer by default', async () => {
    const input = "Mr. Smith's colour\r\nTWO DOLLARS AND FIFTY CENTS\n\nhmm\nlast line without newline";
    expect(await normalizeText(input)).toBe('mister smith is color\n$2.50\n\n\nlast line without newline\n');
  });

  test('applies the normalizer named by --normalizer', async () => {
    const input = "Mr. Smith's  colour, café!\n";
    expect(await normalizeText(input, ['--normalizer', 'basic'])).toBe('mr smith s colour café \n');
    expect(await normalizeText(input, ['--normalizer', 'none'])).toBe("Mr. Smith's colour, café!\n");
    expect(await normalizeText(input, ['--normalizer', 'whisper'])).toBe('mister smith is color cafe\n');
  });

  test('writes nothing for empty input', async () => {
    expect(await normalizeText('')).toBe('');
  });

  test('streams: a line comes out before stdin ends', async () => {
    const context = streamingContext();
    const running = normalizeCommand.run(optionValues({}), [], context);
    context.stdin.write('Twenty Five\n');
    const [firstChunk] = (await once(context.stdout as PassThrough, 'data')) as [Buffer];
    expect(firstChunk.toString()).toBe('25\n');
    context.stdin.end('one\n');
    expect(await running).toBe(EXIT_OK);
  }, 5000);

  test('waits for a slow stdout to drain instead of buffering every line', async () => {
    const received: string[] = [];
    let mostBuffered = 0;
    const slowStdout = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, done) {
        mostBuffered = Math.max(mostBuffered, this.writableLength);
        received.push(chunk.toString());
        setImmediate(done);
      },
    });
    const context = streamingContext(slowStdout);
    const lines = Array.from({ length: 500 }, (_, index) => `Line ${index}`);
    context.stdin.end(`${lines.join('\n')}\n`);
    expect(await normalizeCommand.run(optionValues({ normalizer: 'none' }), [], context)).toBe(EXIT_OK);
    expect(received.join('')).toBe(lines.map((line) => `${line}\n`).join(''));
    expect(mostBuffered).toBeLessThan(64);
  });

  test('rejects an unknown normalizer with a one-line error naming the choices', async () => {
    expect(await runCli(['normalize', '--normalizer', 'english'], { stdin: 'hello\n' })).toEqual({
      code: EXIT_ERROR,
      stdout: '',
      stderr: 'quantgate normalize: --normalizer must be one of whisper, basic, none, got "english"\n',
    });
  });
});
