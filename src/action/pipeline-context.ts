// What the run and tune modes give the pipeline on a runner: onnxruntime loaded when a built-in
// engine may need it, progress and each stage in log groups, the stop's signal, secrets masked, and
// the Actions cache around the Hub downloads and the results store.

import * as core from '@actions/core';
import type { Progress } from '../common/progress.js';
import type { StopControl } from '../common/stop.js';
import { mayNeedOnnxruntime } from '../engines/catalogue.js';
import { downloadWithActionsCache } from '../hub/actions-cache.js';
import type { SnapshotRequest, SnapshotResult } from '../hub/snapshot.js';
import type { RunContext } from '../pipeline/run.js';
import { loadOnnxruntime } from '../runtime/load.js';
import type { ActionInputs } from './inputs.js';
import { cacheLogger, inLogGroup } from './log.js';
import { actionsResultsCache } from './results-cache.js';

export async function runnerContext(
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
  stop: StopControl,
  progress: Progress,
): Promise<RunContext> {
  const needsOnnxruntime = mayNeedOnnxruntime(inputs.run.engine, {
    commandConfigured: inputs.run.referenceCommand !== undefined,
  });
  const onnxruntime = needsOnnxruntime
    ? await stop.during('onnxruntime', () => core.group('onnxruntime', () => loadOnnxruntime({ env, progress })))
    : undefined;
  return {
    progress,
    env,
    signal: stop.signal,
    onStage: (stage) => stop.enter(stage),
    ...(onnxruntime && { onnxruntimeLocation: onnxruntime.location }),
    stage: inLogGroup,
    onSecret: (secret) => core.setSecret(secret),
    ...(inputs.cache && { fetchSnapshot: snapshotThroughActionsCache }),
    ...(inputs.run.reuse && { resultsCache: actionsResultsCache() }),
  };
}

async function snapshotThroughActionsCache(request: SnapshotRequest): Promise<SnapshotResult> {
  return (await downloadWithActionsCache(request, cacheLogger)).snapshot;
}
