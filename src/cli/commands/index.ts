// The commands of the quantgate CLI, in the order `--help` lists them.

import type { Command } from '../command.js';
import { normalizeCommand } from './normalize.js';
import { werCommand } from './wer.js';

export const commands: Command[] = [normalizeCommand, werCommand];
