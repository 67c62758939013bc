// The action's part of the gate's history: a run on the repository's default branch appends its
// record (to the data branch, or the Actions cache, as input `history` says); any other run — a pull
// request, a tag, another branch — only reads. Either way the run is compared with the latest record
// before it, and the summary charts the last `history-last` runs (a pull request's head drawn as
// the last point, though it is not recorded). History is a report, not the gate: when it cannot be
// read or written, a warning says so and the run goes on.

import { formatTensorType } from '../quant/plan.js';
import * as core from '@actions/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../common/errors.js';
import { readManifest } from '../formats/gguf/manifest.js';
import type { RunResult } from '../pipeline/run.js';
import { workflowRunUrl } from '../publish/github.js';
import { appendBranchHistory, readBranchHistory, type BranchHistory } from '../publish/history-branch.js';
import { appendCacheHistory, readCacheHistory, type CacheHistory } from '../publish/history-cache.js';
import {
  compareWithBase,
  describeBaseComparison,
  historyFileName,
  historyRecord,
  type HistoryRecord,
} from '../publish/history.js';
import type { HistorySection } from '../report/history-report.js';
import type { ActionInputs } from './inputs.js';
import { cacheLogger } from './log.js';
import { gitHubClient, repositoryOf } from './publish.js';

/** Records or reads the history as the inputs say; undefined when it is off or cannot be reached here. */
export async function trackHistory(
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
  result: RunResult,
): Promise<HistorySection | undefined> {
  if (inputs.history === 'off') return undefined;
  const head = await recordOf(inputs, env, result);
  const fileName = historyFileName(head.model.id, head.dataset.name);
  const writes = await onDefaultBranch(env);
  let store: HistoryStore;
  try {
    store = historyStore(inputs, env, fileName);
  } catch (error) {
    core.info(`history not kept: ${describeError(error)}`);
    return undefined;
  }
  let records: HistoryRecord[];
  try {
    records = await store.read();
  } catch (error) {
    core.warning(`the history could not be read (${describeError(error)}); this run is not compared with it`);
    return undefined;
  }
  const base = compareWithBase(head, records);
  core.info(describeBaseComparison(base, head));
  if (!writes) {
    core.info(`history read from ${store.where}; only runs on the default branch record theirs`);
    return { head, base, records: [...records, head], last: inputs.historyLast };
  }
  try {
    const written = await store.append(records, head);
    core.info(
      written ? `run recorded in ${store.where}` : `this workflow run is already in ${store.where}; not recorded again`,
    );
    return { head, base, records: written ?? records, last: inputs.historyLast };
  } catch (error) {
    core.warning(`this run could not be recorded in ${store.where} (${describeError(error)})`);
    return { head, base, records: [...records, head], last: inputs.historyLast };
  }
}

interface HistoryStore {
  /** Where the records are, for the log. */
  where: string;
  read(): Promise<HistoryRecord[]>;
  /** The records with `head` appended, or undefined when it was there already. */
  append(records: HistoryRecord[], head: HistoryRecord): Promise<HistoryRecord[] | undefined>;
}

function historyStore(inputs: ActionInputs, env: NodeJS.ProcessEnv, fileName: string): HistoryStore {
  if (inputs.history === 'cache') {
    const cache: CacheHistory = {
      dir: join(env.GITHUB_WORKSPACE || process.cwd(), '.quantgate-history', fileName.replace(/\.jsonl$/, '')),
      fileName,
      logger: cacheLogger,
    };
    return {
      where: `the Actions cache (${fileName})`,
      read: () => readCacheHistory(cache),
      append: async (records, head) => (await appendCacheHistory(cache, records, head))?.records,
    };
  }
  const branch: BranchHistory = {
    client: gitHubClient(inputs, env),
    repo: repositoryOf(inputs, env),
    branch: inputs.historyBranch,
    path: fileName,
  };
  return {
    where: `${fileName} on branch ${inputs.historyBranch}`,
    read: () => readBranchHistory(branch),
    append: async (_records, head) => {
      const outcome = await appendBranchHistory(branch, head);
      return outcome.outcome === 'appended' ? outcome.records : undefined;
    },
  };
}

async function recordOf(inputs: ActionInputs, env: NodeJS.ProcessEnv, result: RunResult): Promise<HistoryRecord> {
  const { comparison, plan } = result;
  const manifest = await readManifest(result.quantized.manifestPath);
  const kld = comparison.kld?.available ? comparison.kld : undefined;
  const runUrl = workflowRunUrl(env);
  return historyRecord(comparison, {
    time: new Date(),
    commit: env.GITHUB_SHA ?? 'unknown',
    ...(env.GITHUB_REF_NAME && { branch: env.GITHUB_REF_NAME }),
    ...(env.GITHUB_RUN_ID && { runId: env.GITHUB_RUN_ID }),
    ...(runUrl && { runUrl }),
    quantization: {
      type: inputs.run.quantType,
      shardFormat: inputs.run.shardFormat,
      keep: inputs.run.keep,
      skip: inputs.run.skip,
      // The overrides as given, `glob=type`: what reproduces the file, as the `tensor-type` input takes them.
      tensorTypes: inputs.run.tensorTypes.map(formatTensorType),
    },
    sizes: { sourceBytes: plan.sourceBytes, outputBytes: manifest.totalSize },
    ...(kld && { kld: { mean: kld.mean, interval: kld.interval, top1Agreement: kld.top1Agreement } }),
  });
}

/** Whether this run is a push (or dispatch, or schedule) on the repository's default branch, as the event says. */
async function onDefaultBranch(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.GITHUB_EVENT_NAME === 'pull_request' || env.GITHUB_EVENT_NAME === 'pull_request_target') return false;
  if (!env.GITHUB_EVENT_PATH || !env.GITHUB_REF) return false;
  try {
    const event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) as {
      repository?: { default_branch?: unknown };
    };
    const branch = event.repository?.default_branch;
    return typeof branch === 'string' && env.GITHUB_REF === `refs/heads/${branch}`;
  } catch {
    return false;
  }
}
