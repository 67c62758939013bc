// The action from inputs to exit code: every input checked first, tokens masked, the working
// directory entered, then the chosen mode. A failed gate fails the step with exit code 1 (when
// fail-on-degradation is on); any error fails it with exit code 2 and one line saying what to fix,
// the stack only in debug logs. Cancelling the workflow (the runner's SIGINT, then SIGTERM) stops
// whatever stage is running, as the CLI does: one error line naming the stage, exit code 130 or 143.

import * as core from '@actions/core';
import { statSync } from 'node:fs';
import { EXIT_ERROR } from '../cli/command.js';
import { QuantgateError, debugDetail, failureLine } from '../common/errors.js';
import { StopControl, watchSignals, type StoppedError } from '../common/stop.js';
import { downloadMode } from './download-mode.js';
import { readActionInputs, type ActionInputs } from './inputs.js';
import { mergeMode } from './merge-mode.js';
import { runMode } from './run-mode.js';
import { tuneMode } from './tune-mode.js';
import { announceVerdict, type Verdict } from './verdict.js';

export async function runAction(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const stop = new StopControl('inputs');
  const watch = watchSignals(stop, reportStop);
  try {
    const inputs = readActionInputs((name) => core.getInput(name));
    for (const secret of [inputs.run.hfToken, inputs.githubToken]) if (secret) core.setSecret(secret);
    if (inputs.workingDirectory !== undefined) enterWorkingDirectory(inputs.workingDirectory);
    const verdict = await runChosenMode(inputs, env, stop);
    if (stop.stopped) reportStop(stop.stopped);
    else if (verdict) announceVerdict(verdict, inputs.failOnDegradation);
  } catch (error) {
    // Whatever a stage made of the abort, the stop is what happened.
    if (stop.stopped) reportStop(stop.stopped);
    else {
      core.setFailed(failureLine(error, 're-run with debug logging for the stack, and report it'));
      const detail = debugDetail(error);
      if (detail) core.debug(detail);
      process.exitCode = EXIT_ERROR;
    }
  } finally {
    watch.settled();
    watch.dispose();
  }
}

function reportStop(stopped: StoppedError): void {
  core.setFailed(stopped.line('quantgate'));
  process.exitCode = stopped.exitCode;
}

/** The gate's verdict, or undefined where the mode decides none (a shard's partial run, a download). */
async function runChosenMode(
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
  stop: StopControl,
): Promise<Verdict | undefined> {
  stop.enter(inputs.mode);
  switch (inputs.mode) {
    case 'run':
      return runMode(inputs, env, stop);
    case 'merge':
      return mergeMode(inputs, env, stop);
    case 'download':
      await downloadMode(inputs, env);
      return undefined;
    case 'tune':
      return tuneMode(inputs, env, stop);
  }
}

function enterWorkingDirectory(dir: string): void {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new QuantgateError(
      `input "working-directory" ${dir} is not a folder; give a folder of the checkout, relative to the workspace`,
    );
  }
  process.chdir(dir);
}
