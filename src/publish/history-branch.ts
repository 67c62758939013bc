// The gate's history kept on a data branch of the repository (default `quantgate-data`), one JSON
// Lines file per model and dataset, written through the GitHub contents and git APIs so that a
// workflow needs no checkout or push. The branch is created as an orphan holding only history. Two
// runs appending at once race on the branch head: the loser's write is refused (409, or 422 when
// the file or branch appeared meanwhile) and it re-reads the new head and appends again. A run id
// already in the file is not appended twice, so a re-run of a workflow changes nothing.

import { QuantgateError } from '../common/errors.js';
import { callGitHub, gitHubFailure, isNotFound, type GitHubClient, type RepoRef } from './github.js';
import { appendRecord, formatHistory, parseHistory, type HistoryRecord } from './history.js';

const PERMISSION = 'contents: write';
const ATTEMPTS = 5;
const NOT_FOUND = 'check that the repository exists and the token can see it';

export interface BranchHistory {
  client: GitHubClient;
  repo: RepoRef;
  branch: string;
  /** The file on the branch, e.g. `kyutai--stt-1b-en_fr__openslr--librispeech_asr.jsonl`. */
  path: string;
}

export type AppendOutcome =
  | { outcome: 'appended'; records: HistoryRecord[]; commitUrl?: string }
  | { outcome: 'already-recorded'; records: HistoryRecord[] };

/** The records on the branch; none when the branch or the file does not exist yet. */
export async function readBranchHistory(history: BranchHistory): Promise<HistoryRecord[]> {
  return (await readFile(history)).records;
}

/** Appends `record` to the file on the branch, creating both when needed, retrying a lost race on the new head. */
export async function appendBranchHistory(history: BranchHistory, record: HistoryRecord): Promise<AppendOutcome> {
  const where = `${history.path} on branch ${history.branch} of ${history.repo.owner}/${history.repo.repo}`;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!(await branchExists(history))) {
        const commitUrl = await createBranch(history, [record], where);
        return { outcome: 'appended', records: [record], commitUrl };
      }
      const file = await readFile(history);
      const records = appendRecord(file.records, record);
      if (!records) return { outcome: 'already-recorded', records: file.records };
      const { data } = await history.client.rest.repos.createOrUpdateFileContents({
        ...history.repo,
        path: history.path,
        branch: history.branch,
        message: commitMessage(record),
        content: Buffer.from(formatHistory(records)).toString('base64'),
        ...(file.sha && { sha: file.sha }),
      });
      return { outcome: 'appended', records, ...(data.commit.html_url && { commitUrl: data.commit.html_url }) };
    } catch (error) {
      if (isLostRace(error) && attempt < ATTEMPTS) continue;
      if (isLostRace(error))
        throw new QuantgateError(
          `appending to ${where} failed: another run moved the branch on each of ${ATTEMPTS} tries; run the job again`,
          { cause: error },
        );
      throw gitHubFailure(error, { doing: `appending to ${where}`, permission: PERMISSION, notFound: NOT_FOUND });
    }
  }
}

async function readFile(history: BranchHistory): Promise<{ records: HistoryRecord[]; sha?: string }> {
  const label = `${history.branch}:${history.path}`;
  let data;
  try {
    ({ data } = await history.client.rest.repos.getContent({
      ...history.repo,
      path: history.path,
      ref: history.branch,
    }));
  } catch (error) {
    if (isNotFound(error)) return { records: [] };
    throw gitHubFailure(error, { doing: `reading ${label}`, permission: 'contents: read', notFound: NOT_FOUND });
  }
  if (Array.isArray(data) || data.type !== 'file')
    throw new QuantgateError(
      `${label} is not a file; remove it from the branch or give input "history-branch" another branch`,
    );
  // The contents API leaves out files over 1 MB; the git blob API serves them.
  const base64 =
    data.encoding === 'base64'
      ? data.content
      : (
          await callGitHub(() => history.client.rest.git.getBlob({ ...history.repo, file_sha: data.sha }), {
            doing: `reading ${label}`,
            permission: 'contents: read',
          })
        ).data.content;
  return { records: parseHistory(Buffer.from(base64, 'base64').toString('utf8'), label), sha: data.sha };
}

async function branchExists(history: BranchHistory): Promise<boolean> {
  try {
    await history.client.rest.git.getRef({ ...history.repo, ref: `heads/${history.branch}` });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** An orphan branch whose one commit holds the history file and nothing else. */
async function createBranch(history: BranchHistory, records: HistoryRecord[], where: string): Promise<string> {
  const { client, repo } = history;
  const tree = await client.rest.git.createTree({
    ...repo,
    tree: [{ path: history.path, mode: '100644', type: 'blob', content: formatHistory(records) }],
  });
  const commit = await client.rest.git.createCommit({
    ...repo,
    message: `${commitMessage(records[0]!)}\n\nThe branch quantgate keeps its gate history on (${where}).`,
    tree: tree.data.sha,
    parents: [],
  });
  await client.rest.git.createRef({ ...repo, ref: `refs/heads/${history.branch}`, sha: commit.data.sha });
  return commit.data.html_url;
}

function commitMessage(record: HistoryRecord): string {
  return `quantgate history: ${record.model.id} on ${record.dataset.name} at ${record.commit.slice(0, 7)}${record.runId ? ` (run ${record.runId})` : ''}`;
}

/** The branch moved between our read and our write: the file's sha is stale, or the file or branch was just created. */
function isLostRace(error: unknown): boolean {
  const { status, response, message } = error as { status?: unknown; response?: unknown; message?: unknown };
  if (response === undefined) return false;
  return status === 409 || (status === 422 && /\bsha\b|already exists/i.test(String(message)));
}
