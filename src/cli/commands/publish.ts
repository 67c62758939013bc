// `quantgate publish`: uploads the output folder of a `quantize` or `run` to a Hugging Face Hub model
// repo, where browser runtimes load models from — the shards (or the single file), the manifest,
// eval_results.{json,txt} and a generated model card, in one commit — or, with --dry-run, writes
// exactly those files into <out-dir>/hub-upload/ and contacts nobody.

import { QuantgateError } from '../../common/errors.js';
import { createProgress } from '../../common/progress.js';
import { flagOption, requiredString, stringOption, type OptionValues } from '../../common/option-values.js';
import { DEFAULT_HUB_URL, normalizeHubUrl } from '../../hub/hub-api.js';
import { findToken, redactError } from '../../hub/token.js';
import { workflowRunUrl } from '../../publish/github.js';
import { EXIT_OK, type Command, type CommandContext } from '../command.js';

export const publishCommand: Command = {
  usage: `
usage: quantgate publish --hub-repo <org/name> [--revision <branch>] [--create-pr] [--hub-url <url>]
                         [--hf-token <token>] [--dry-run] <out-dir>

Publishes the quantized output in <out-dir> (the --out-dir of quantize or run) to a Hub model repo
in one commit: the shards or the single file, the manifest, eval_results.json and .txt when the
output was evaluated, and a README.md model card with the results, how to load the files and the
sha256 of each. The repo is created when it does not exist. Files already there byte for byte are
not uploaded again; when nothing changed, nothing is committed. A failed upload commits nothing:
the repo stays as it was.

  --hub-repo <org/name>  the model repo to publish to
  --revision <branch>    the branch to commit to (default main)
  --create-pr            open a pull request on the repo instead of committing to the branch
  --hub-url <url>        the Hub (default $HF_ENDPOINT, else https://huggingface.co)
  --hf-token <token>     a token with write access to the repo (default $HF_TOKEN, else the token
                         saved by \`huggingface-cli login\`); prefer HF_TOKEN, as arguments show in ps
  --dry-run              write the files a publish would upload into <out-dir>/hub-upload/ and
                         contact nobody

Exit status: 0 published (or nothing to publish, or a dry run), 2 an error.
`,
  options: {
    'hub-repo': { type: 'string' },
    revision: { type: 'string' },
    'create-pr': { type: 'boolean' },
    'hub-url': { type: 'string' },
    'hf-token': { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  allowPositionals: true,
  run: runPublish,
};

async function runPublish(values: OptionValues, positionals: string[], context: CommandContext): Promise<number> {
  if (positionals.length !== 1)
    throw new QuantgateError('publish takes one output folder (the --out-dir of quantize or run); see --help');
  // The Hub client loads only now, so that --help stays fast.
  const { checkHubRepo, publishToHub } = await import('../../publish/hub-publish.js');
  const repo = checkHubRepo(requiredString(values, 'hub-repo'), '--hub-repo');
  const { env } = context;
  const dryRun = flagOption(values, 'dry-run') ?? false;
  const token = dryRun ? undefined : await findToken(stringOption(values, 'hf-token'), env);
  const revision = stringOption(values, 'revision');
  const runUrl = workflowRunUrl(env);
  const progress = createProgress({ stream: context.stderr });
  context.stop?.enter('publish');
  let result;
  try {
    result = await publishToHub({
      outDir: positionals[0]!,
      repo,
      ...(revision && { revision }),
      createPr: flagOption(values, 'create-pr') ?? false,
      hubUrl: normalizeHubUrl(stringOption(values, 'hub-url') || env.HF_ENDPOINT || DEFAULT_HUB_URL),
      ...(token && { token }),
      dryRun,
      ...(runUrl && { provenance: { runUrl } }),
      progress,
      env,
      ...(context.stop && { signal: context.stop.signal }),
    });
  } catch (error) {
    throw redactError(error, token);
  }
  const lines = result.dryRunDir
    ? [`dry run: ${result.files.length} files written to ${result.dryRunDir}`]
    : result.unchanged
      ? [`unchanged: ${repo} already holds these ${result.files.length} files; nothing committed`]
      : [
          `published ${result.files.length} files to ${repo}`,
          ...(result.pullRequestUrl ? [`pull request: ${result.pullRequestUrl}`] : []),
          ...(result.commit ? [`commit: ${result.commit.url}`] : []),
        ];
  context.stdout.write(`${lines.join('\n')}\n`);
  return EXIT_OK;
}
