// The quantgate command line: picks the command, loads it, parses its options (older spellings
// mapped to their primary names), and turns errors into one line on stderr and an exit code.
// Commands are thin shells over the pipeline stages. In the real process, SIGINT and SIGTERM stop
// the command (common/stop.ts): one line, exit code 130 or 143.

import { parseArgs } from 'node:util';
import { QuantgateError, debugDetail, failureLine } from '../common/errors.js';
import { optionValues, type RawOptionValue } from '../common/option-values.js';
import { StopControl, watchSignals } from '../common/stop.js';
import { EXIT_ERROR, EXIT_OK, type Command, type CommandContext, type CommandEntry } from './command.js';
import { commands } from './commands/index.js';

function overview(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'usage: quantgate <command> [options]',
    '',
    'commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `quantgate <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[], context: CommandContext = defaultContext()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    context.stdout.write(`${overview()}\n`);
    return name === undefined ? EXIT_ERROR : EXIT_OK;
  }
  const entry = commands.find((candidate) => candidate.name === name);
  if (!entry) {
    context.stderr.write(`quantgate: unknown command "${name}"; run \`quantgate --help\` for the list\n`);
    return EXIT_ERROR;
  }
  return runCommand(entry, rest, context);
}

async function runCommand(entry: CommandEntry, argv: string[], context: CommandContext): Promise<number> {
  const prefix = `quantgate ${entry.name}`;
  // On a terminal a progress bar may be drawn without its newline; the last line replaces it.
  const lineStart = context.stderr.isTTY ? '\r\x1b[K' : '';
  const stop = context.stop ?? new StopControl(entry.name);
  const stopped = () => {
    const request = stop.stopped!;
    context.stderr.write(`${lineStart}${request.line(prefix)}\n`);
    return request.exitCode;
  };
  const watch = context.stopOnSignals ? watchSignals(stop, stopped) : undefined;
  try {
    const command = await entry.load();
    if (argv.includes('--help') || argv.includes('-h')) {
      context.stdout.write(`${command.usage.trim()}\n`);
      return EXIT_OK;
    }
    const { values, positionals } = parseArgs({
      args: argv,
      options: withAliases(command),
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
    const code = await command.run(optionValues(toPrimaryNames(command, values)), positionals, { ...context, stop });
    return stop.stopped ? stopped() : code;
  } catch (error) {
    // Whatever a stage made of the abort (its own error, a wrapped one), the stop is what happened.
    if (stop.stopped) return stopped();
    context.stderr.write(`${lineStart}${prefix}: ${errorLine(error)}\n`);
    const detail = context.env.QUANTGATE_DEBUG && !isArgumentError(error) ? debugDetail(error) : undefined;
    if (detail) context.stderr.write(`${detail}\n`);
    return EXIT_ERROR;
  } finally {
    watch?.settled();
    watch?.dispose();
  }
}

/** The command's options, and each older spelling parsed like the option it stands for. */
function withAliases(command: Command): Command['options'] {
  const aliases = Object.entries(command.aliases ?? {}).map(
    ([alias, primary]) => [alias, command.options[primary]!] as const,
  );
  return { ...command.options, ...Object.fromEntries(aliases) };
}

/**
 * Moves each older spelling's value to its primary name, and turns `--no-<switch>` into the
 * switch set to false; both spellings, or a switch and its negation, at once are an error.
 */
function toPrimaryNames(command: Command, values: Record<string, RawOptionValue>): Record<string, RawOptionValue> {
  const named = { ...values };
  for (const name of Object.keys(values)) {
    const negated = name.slice('no-'.length);
    if (!name.startsWith('no-') || command.options[negated]?.type !== 'boolean') continue;
    if (named[negated] !== undefined)
      throw new QuantgateError(`--${negated} and --${name} contradict each other; give one`);
    named[negated] = false;
    delete named[name];
  }
  for (const [alias, primary] of Object.entries(command.aliases ?? {})) {
    if (named[alias] === undefined) continue;
    if (named[primary] !== undefined)
      throw new QuantgateError(`--${alias} is the older spelling of --${primary}; give one of them`);
    named[primary] = named[alias];
    delete named[alias];
  }
  return named;
}

function isArgumentError(error: unknown): boolean {
  return (
    typeof (error as { code?: unknown })?.code === 'string' &&
    String((error as { code: string }).code).startsWith('ERR_PARSE_ARGS')
  );
}

function errorLine(error: unknown): string {
  if (isArgumentError(error))
    return `${(error as Error).message.replace(/\.?\s*\n\s*/g, '. ').replace(/\.$/, '')}; see --help`;
  return failureLine(error, 'set QUANTGATE_DEBUG=1 for the stack and report it');
}

function defaultContext(): CommandContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    stopOnSignals: true,
  };
}
