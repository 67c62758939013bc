// The shape every CLI command has: its options for node:util's parseArgs, a usage text, and a run
// function returning the process exit code (0 success, 1 a failed gate, 2 an error). The command
// table (commands/index.ts) holds each command's name and summary and loads the command itself
// only when it is run, so `--help` and the light commands start without the heavy dependencies.

import type { ParseArgsConfig } from 'node:util';
import type { StopControl } from '../common/stop.js';
import type { OptionValues } from '../common/option-values.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** The run's stop request, which commands pass to every stage and tell which stage is running; made per command when absent. */
  stop?: StopControl;
  /** True in the real process: SIGINT and SIGTERM then stop the command. */
  stopOnSignals?: boolean;
}

/** A command as the table lists it: enough for the overview, and a way to load the rest. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export interface Command {
  /** Full usage text shown by `quantgate <name> --help`; it names each option by its primary name. */
  usage: string;
  options: OptionSpec;
  /**
   * Older spellings still accepted, each mapped to the primary name it stands for (`type` →
   * `quant-type`); the command reads only primary names.
   */
  aliases?: Readonly<Record<string, string>>;
  allowPositionals?: boolean;
  run(values: OptionValues, positionals: string[], context: CommandContext): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_GATE_FAILED = 1;
export const EXIT_ERROR = 2;
