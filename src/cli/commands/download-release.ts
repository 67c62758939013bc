// `quantgate download-release`: fetches a published quantized model from a GitHub release or a
// workflow artifact, verifies every file against its manifest, and rebuilds byte shards into the
// .gguf they were cut from — the publish stage run backwards.

import { QuantgateError } from '../../common/errors.js';
import { createProgress } from '../../common/progress.js';
import type { DownloadedModel } from '../../publish/download.js';
import { numberOption, stringOption, type OptionValues } from '../../common/option-values.js';
import { EXIT_OK, type Command, type CommandContext } from '../command.js';

export const downloadReleaseCommand: Command = {
  usage: `
usage: quantgate download-release --tag <tag> [--repo <owner/name>] [--out-dir <dir>] [--token <token>]
                                  [--manifest <name>] [--gguf-name <file>]
       quantgate download-release --run-id <id> --artifact-id <id> [--repo <owner/name>] [--out-dir <dir>] …

Downloads the manifest of a model that quantgate published, then every file it lists, checking
each one's size and SHA-256 as it arrives. Byte shards (shard-aa, shard-ab, …) are joined into one
.gguf; a single .gguf or gguf-split files are written as they are, with the manifest beside them.
Nothing is written unless every file matched. Prints the paths written.

  --tag <tag>           the release whose assets hold the model
  --run-id <id>         with --artifact-id: the workflow run whose artifact holds it
  --artifact-id <id>    the artifact (its page is …/actions/runs/<run-id>/artifacts/<artifact-id>)
  --repo <owner/name>   the repository (default $GITHUB_REPOSITORY)
  --out-dir <dir>       the output folder (default the current folder); other files there stay;
                        --out also works
  --token <token>       GitHub token (default $GITHUB_TOKEN, else $GH_TOKEN); needed for private
                        repositories and for artifacts; prefer the variables, as arguments show in ps
  --manifest <name>     the manifest to use when the release or artifact holds several
  --gguf-name <file>    the rebuilt .gguf's file name (default the model's name + .gguf)

The API is $GITHUB_API_URL (default https://api.github.com).

Exit status: 0 downloaded and verified, 2 an error.
`,
  options: {
    tag: { type: 'string' },
    'run-id': { type: 'string' },
    'artifact-id': { type: 'string' },
    repo: { type: 'string' },
    'out-dir': { type: 'string' },
    token: { type: 'string' },
    manifest: { type: 'string' },
    'gguf-name': { type: 'string' },
  },
  aliases: { out: 'out-dir' },
  run: runDownloadRelease,
};

async function runDownloadRelease(
  values: OptionValues,
  _positionals: string[],
  context: CommandContext,
): Promise<number> {
  const { env } = context;
  const tag = stringOption(values, 'tag');
  const runId = numberOption(values, 'run-id', { integer: true, min: 1 });
  const artifactId = numberOption(values, 'artifact-id', { integer: true, min: 1 });
  if ((tag === undefined) === (runId === undefined && artifactId === undefined)) {
    throw new QuantgateError('give either --tag <tag> or --run-id <id> with --artifact-id <id>; see --help');
  }
  const repoText = stringOption(values, 'repo') ?? env.GITHUB_REPOSITORY;
  if (!repoText)
    throw new QuantgateError('--repo <owner/name> is required outside GitHub Actions (GITHUB_REPOSITORY is unset)');
  // The GitHub client and the artifact SDK load only now, so that --help stays fast.
  const [{ downloadFromArtifact, downloadFromRelease }, { createGitHubClient, parseRepo }] = await Promise.all([
    import('../../publish/download.js'),
    import('../../publish/github.js'),
  ]);
  const repo = parseRepo(repoText, stringOption(values, 'repo') === undefined ? 'GITHUB_REPOSITORY' : '--repo');
  const token = stringOption(values, 'token') || env.GITHUB_TOKEN || env.GH_TOKEN || undefined;
  const manifest = stringOption(values, 'manifest');
  const ggufName = stringOption(values, 'gguf-name');
  const options = {
    out: stringOption(values, 'out-dir') ?? '.',
    progress: createProgress({ stream: context.stderr }),
    ...(manifest === undefined ? {} : { manifest }),
    ...(ggufName === undefined ? {} : { ggufName }),
  };

  context.stop?.enter('download');
  let model: DownloadedModel;
  if (tag !== undefined) {
    model = await downloadFromRelease({
      ...options,
      client: createGitHubClient({ env, ...(token ? { token } : {}) }),
      release: { ...repo, tag },
    });
  } else {
    if (runId === undefined || artifactId === undefined)
      throw new QuantgateError("--run-id and --artifact-id go together; give both (they are in the artifact's URL)");
    if (!token)
      throw new QuantgateError(
        'downloading an artifact needs a token even for a public repository; set GITHUB_TOKEN or pass --token',
      );
    model = await downloadFromArtifact({ ...options, repo, runId, artifactId, token });
  }
  for (const file of model.files) context.stdout.write(`${file}\n`);
  return EXIT_OK;
}
