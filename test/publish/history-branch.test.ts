// The history on a data branch, through the contents and git APIs of the fake GitHub API: the first
// record creates an orphan branch holding only the file, later ones append, a re-run appends nothing,
// a write that loses the race to another run's commit is retried on the new head, a file over the
// contents API's limit is read through the blob API, and a read-only token is one clear error.

import { isQuantgateError } from '../../src/common/errors.js';
import { createGitHubClient } from '../../src/publish/github.js';
import { appendBranchHistory, readBranchHistory, type BranchHistory } from '../../src/publish/history-branch.js';
import { formatHistory, historyRecord, parseHistory, type HistoryRecord } from '../../src/publish/history.js';
import { FakeGitHubApi } from '../servers/fake-github-api.js';
import { sampleComparison } from '../report/comparison.js';

const REPO = { owner: 'octo', repo: 'models' };
const PATH = 'kyutai--stt-1b-en_fr__openslr--librispeech_asr.jsonl';
let api: FakeGitHubApi;

beforeAll(async () => {
  api = await FakeGitHubApi.start({ tokens: { writer: 'write', reader: 'read' }, maxContentsBytes: 4096 });
});

afterAll(() => api.close());

function record(runId: string, candidate = 6): HistoryRecord {
  const made = historyRecord(sampleComparison(), {
    time: new Date('2026-12-01T10:00:00Z'),
    commit: runId.padStart(40, '0'),
    runId,
    quantization: { type: 'q4_0', shardFormat: 'bytes', keep: [], skip: [], tensorTypes: [] },
    sizes: { sourceBytes: 4_000_000, outputBytes: 1_000_000 },
  });
  return { ...made, wer: { ...made.wer, candidate } };
}

function history(branch: string, token = 'writer'): BranchHistory {
  return { client: createGitHubClient({ token, apiUrl: api.url }), repo: REPO, branch, path: PATH };
}

const onBranch = (branch: string) => parseHistory(api.fileAt('octo/models', branch, PATH) ?? '', PATH);

test('the first record creates an orphan branch with only the file; later records append; a re-run appends nothing', async () => {
  const target = history('quantgate-data');
  expect(await readBranchHistory(target)).toEqual([]);
  const first = await appendBranchHistory(target, record('1'));
  expect(first.outcome).toBe('appended');
  expect(api.branchHead('octo/models', 'quantgate-data')).toEqual({ files: [PATH], parents: 0 });
  await appendBranchHistory(target, record('2'));
  expect(onBranch('quantgate-data').map((each) => each.runId)).toEqual(['1', '2']);
  expect(await readBranchHistory(target)).toEqual(onBranch('quantgate-data'));

  const commits = api.gitCommits.length;
  const again = await appendBranchHistory(target, record('2'));
  expect(again.outcome).toBe('already-recorded');
  expect(api.gitCommits.length).toBe(commits);
});

test('a write that loses the race to another run is retried on the new head, keeping both records', async () => {
  const target = history('race');
  await appendBranchHistory(target, record('10'));
  api.beforeNextContentsWrite = () =>
    api.commitFile('octo/models', 'race', PATH, formatHistory([...onBranch('race'), record('11')]));
  const result = await appendBranchHistory(target, record('12'));
  expect(result.outcome).toBe('appended');
  expect(onBranch('race').map((each) => each.runId)).toEqual(['10', '11', '12']);
  expect(api.requests.filter((request) => request.method === 'PUT' && request.status === 409)).toHaveLength(1);
});

test('a file over the contents API’s limit is read through the blob API', async () => {
  const target = history('long');
  const many = Array.from({ length: 8 }, (_, i) => record(String(100 + i)));
  api.commitFile('octo/models', 'long', PATH, formatHistory(many));
  expect(formatHistory(many).length).toBeGreaterThan(4096);
  expect(await readBranchHistory(target)).toEqual(many);
  await appendBranchHistory(target, record('200'));
  expect(onBranch('long')).toHaveLength(9);
});

test('a token that may not write is one error naming the permission', async () => {
  const error = await appendBranchHistory(history('quantgate-data', 'reader'), record('3')).catch(
    (caught: unknown) => caught,
  );
  expect(isQuantgateError(error)).toBe(true);
  expect((error as Error).message).toMatch(
    new RegExp(
      `^appending to ${PATH} on branch quantgate-data of octo/models failed: the token may not do this \\(403 .*\\); give the workflow \`permissions: contents: write\` or use a token with that access$`,
    ),
  );
});
