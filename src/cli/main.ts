// The quantgate command line: picks the command, parses its options, and turns errors into one
// line on stderr and an exit code. Commands are thin shells over the pipeline stages.

import { parseArgs } from 'node:util';
import { debugDetail, failureLine } from '../common/errors.js';
import { optionValues } from '../common/option-values.js';
import { EXIT_ERROR, EXIT_OK, type Command, type CommandContext } from './command.js';
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
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    context.stderr.write(`quantgate: unknown command "${name}"; run \`quantgate --help\` for the list\n`);
    return EXIT_ERROR;
  }
  return runCommand(command, rest, context);
}

async function runCommand(command: Command, argv: string[], context: CommandContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    context.stdout.write(`${command.usage.trim()}\n`);
    return EXIT_OK;
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options: command.options, allowPositionals: command.allowPositionals ?? false, strict: true });
    return await command.run(optionValues(values), positionals, context);
  } catch (error) {
    context.stderr.write(`quantgate ${command.name}: ${errorLine(error)}\n`);
    const detail = context.env.QUANTGATE_DEBUG && !isArgumentError(error) ? debugDetail(error) : undefined;
    if (detail) context.stderr.write(`${detail}\n`);
    return EXIT_ERROR;
  }
}

function isArgumentError(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'string' && String((error as { code: string }).code).startsWith('ERR_PARSE_ARGS');
}

function errorLine(error: unknown): string {
  if (isArgumentError(error)) return `${(error as Error).message.replace(/\.?\s*\n\s*/g, '. ').replace(/\.$/, '')}; see --help`;
  return failureLine(error, 'set QUANTGATE_DEBUG=1 for the stack and report it');
}

function defaultContext(): CommandContext {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
