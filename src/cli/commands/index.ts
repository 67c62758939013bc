// The commands of the quantgate CLI, in the order `--help` lists them.

import type { Command } from '../command.js';
import { downloadCommand } from './download.js';
import { downloadReleaseCommand } from './download-release.js';
import { normalizeCommand } from './normalize.js';
import { quantizeCommand } from './quantize.js';
import { runCommand } from './run.js';
import { transcribeCommand } from './transcribe.js';
import { verifyCommand } from './verify.js';
import { werCommand } from './wer.js';

export const commands: Command[] = [runCommand, quantizeCommand, verifyCommand, transcribeCommand, downloadCommand, normalizeCommand, werCommand, downloadReleaseCommand];
