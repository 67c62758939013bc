// `quantgate download`: fetches a model's (or dataset's) wanted files from the Hugging Face Hub into
// the shared Hugging Face cache and prints the snapshot folder — the hub stage on its own.

import { formatBytes } from '../../common/format.js';
import { createProgress } from '../../common/progress.js';
import { DEFAULT_INCLUDE } from '../../hub/plan.js';
import { downloadSnapshot } from '../../hub/snapshot.js';
import {
  choiceOption,
  flagOption,
  listOption,
  requiredString,
  stringOption,
  type OptionValues,
} from '../../common/option-values.js';
import { EXIT_OK, type Command, type CommandContext } from '../command.js';

export const downloadCommand: Command = {
  usage: `
usage: quantgate download --model-id <org/name> [--revision <rev>] [--include <globs>] [--exclude <globs>]
                          [--repo-type model|dataset] [--cache-dir <dir>] [--hf-token <token>]
                          [--hub-url <url>] [--offline]

Downloads the wanted files of one commit into the Hugging Face cache (the layout huggingface_hub
uses, so Python tools share it), checks every file against the hash the Hub lists, and prints the
snapshot folder on stdout. Files already in the cache are not downloaded again; an interrupted
download resumes. Pickle checkpoints (.bin, .pt, .pth, .ckpt, .pkl, .pickle) are never downloaded.

  --model-id <org/name>  the repo on the Hub, e.g. kyutai/stt-1b-en_fr
  --revision <rev>       branch, tag or commit sha (default main)
  --include <globs>      comma-separated fnmatch globs of the files wanted, \`*\` matching across
                         folders (default ${DEFAULT_INCLUDE.join(',')})
  --exclude <globs>      globs of files to leave out
  --repo-type <type>     model or dataset (default model)
  --cache-dir <dir>      the cache (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)
  --hf-token <token>     access token for gated or private repos (default $HF_TOKEN, else the token
                         saved by \`huggingface-cli login\`); prefer HF_TOKEN, as arguments show in ps
  --hub-url <url>        the Hub (default $HF_ENDPOINT, else https://huggingface.co)
  --offline              use only the cache, never the network (also HF_HUB_OFFLINE=1)

Exit status: 0 the snapshot is complete, 2 an error.
`,
  options: {
    'model-id': { type: 'string' },
    revision: { type: 'string' },
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    'repo-type': { type: 'string' },
    'cache-dir': { type: 'string' },
    'hf-token': { type: 'string' },
    'hub-url': { type: 'string' },
    offline: { type: 'boolean' },
  },
  run: runDownload,
};

async function runDownload(values: OptionValues, _positionals: string[], context: CommandContext): Promise<number> {
  const progress = createProgress({ stream: context.stderr });
  const snapshot = await downloadSnapshot({
    repoId: requiredString(values, 'model-id'),
    repoType: choiceOption(values, 'repo-type', ['model', 'dataset'] as const),
    revision: stringOption(values, 'revision'),
    include: listOption(values, 'include'),
    exclude: listOption(values, 'exclude'),
    cacheDir: stringOption(values, 'cache-dir'),
    token: stringOption(values, 'hf-token'),
    hubUrl: stringOption(values, 'hub-url'),
    offline: flagOption(values, 'offline') || undefined,
    env: context.env,
    progress,
    signal: context.stop?.signal,
  });
  const cached = snapshot.files.filter((file) => file.fromCache).length;
  progress.info(
    `${snapshot.repoId}@${snapshot.revision}: ${snapshot.files.length} file${snapshot.files.length === 1 ? '' : 's'}, ${formatBytes(snapshot.bytesDownloaded)} downloaded, ${cached} already in the cache`,
  );
  context.stdout.write(`${snapshot.dir}\n`);
  return EXIT_OK;
}
