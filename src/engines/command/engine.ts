// The `command` engine: evaluates a model with any external runtime (a GGUF CLI written in Rust,
// the PyTorch reference of a model without an ONNX graph) through the process protocol described
// in docs/ENGINES.md. Per run, quantgate writes WAV files and a manifest into a scratch folder,
// runs the variant's shell command template, checks the JSON lines it writes back, and removes
// the folder whatever happened.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { WavEncoding } from '../../audio/wav-writer.js';
import { holdTempPath, releaseTempPath } from '../../common/atomic.js';
import { QuantgateError, describeError } from '../../common/errors.js';
import { formatCount } from '../../common/format.js';
import type { Progress } from '../../common/progress.js';
import type { Utterance } from '../../datasets/utterance.js';
import { redact } from '../../hub/token.js';
import type { Device, Engine, EngineFactory, ModelSource, QuantizedModel, Transcript, Variant } from '../engine.js';
import { writeBatchInput } from './batch-input.js';
import { readBatchOutput, type OutputProblem } from './batch-output.js';
import { runProcessGroup, type GroupOutcome } from './process-group.js';
import { parseCommandTemplate, renderCommand, type CommandTemplate } from './template.js';

export interface CommandEngineOptions {
  /** Shell command template that transcribes with the original weights; set both or neither. */
  referenceCommand?: string;
  /** Shell command template that transcribes with the quantized GGUF. */
  candidateCommand?: string;
  /** The rate of the WAV files, in Hz; 16000 unless given. */
  sampleRate?: number;
  /** Stops a command run after this long; no limit unless given. */
  timeoutSeconds?: number;
  /** The most utterances per command run; all utterances of a `transcribe` call unless given. */
  batchSize?: number;
  /** 16-bit PCM unless given. */
  wavEncoding?: WavEncoding;
  /** Where each run's scratch folder is made; the system temp folder unless given. */
  tempDir?: string;
  /** The environment the command inherits; `process.env` unless given. */
  env?: NodeJS.ProcessEnv;
  /** Values never shown in logs or errors, besides the environment's tokens, passwords and keys. */
  secrets?: readonly string[];
  /** Receives each line the command prints, as it runs. */
  logger?: Pick<Progress, 'info'>;
}

interface Templates {
  reference: CommandTemplate;
  candidate: CommandTemplate;
}

const DEFAULT_SAMPLE_RATE = 16000;
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL/i;
/** Shorter values (`1`, `true`) are settings, and redacting them would garble every message. */
const MIN_SECRET_LENGTH = 8;

/** The `command` engine factory; the templates are checked here, so mistakes surface before any work. */
export function createCommandEngineFactory(options: CommandEngineOptions): EngineFactory {
  const templates = parseTemplates(options);
  const settings = checkSettings(options);
  return {
    name: 'command',
    accepts: async () => templates !== undefined,
    async open(model, variant, { device }) {
      if (!templates) {
        throw new QuantgateError(
          'the command engine has no commands to run; configure both the reference and the candidate command templates',
        );
      }
      const template = variant.kind === 'reference' ? templates.reference : templates.candidate;
      return new CommandEngine(variant.kind, template, placeholderValues(model, variant, device), settings);
    },
  };
}

/** The placeholder values fixed when the engine opens; {manifest} and {output} change with each run. */
type PresetValues = { model_dir: string; gguf: string; device: Device };

interface Settings {
  sampleRate: number;
  timeoutSeconds: number | undefined;
  batchSize: number;
  wavEncoding: WavEncoding;
  tempDir: string;
  env: NodeJS.ProcessEnv;
  redact: (text: string) => string;
  logger: Pick<Progress, 'info'> | undefined;
}

class CommandEngine implements Engine {
  readonly name = 'command';
  readonly sampleRate: number;
  readonly device: Device;
  private readonly label: string;

  constructor(
    variant: Variant['kind'],
    private readonly template: CommandTemplate,
    private readonly values: PresetValues,
    private readonly settings: Settings,
  ) {
    this.label = `${variant} command`;
    this.sampleRate = settings.sampleRate;
    this.device = values.device;
  }

  async transcribe(batch: Utterance[], signal?: AbortSignal): Promise<Transcript[]> {
    this.checkBatch(batch);
    const transcripts: Transcript[] = [];
    for (let start = 0; start < batch.length; start += this.settings.batchSize) {
      transcripts.push(...(await this.run(batch.slice(start, start + this.settings.batchSize), signal)));
    }
    return transcripts;
  }

  async close(): Promise<void> {
    // Each run removes its own scratch folder and processes; nothing outlives `transcribe`.
  }

  private checkBatch(batch: Utterance[]): void {
    const seen = new Set<string>();
    for (const { id, sampleRate } of batch) {
      if (sampleRate !== this.sampleRate) {
        throw new Error(
          `utterance ${id} is at ${sampleRate} Hz but the command engine asked for ${this.sampleRate} Hz; the datasets stage must resample it`,
        );
      }
      if (seen.has(id))
        throw new QuantgateError(
          `utterance id ${JSON.stringify(id)} appears twice; the command protocol needs unique ids — fix the dataset manifest`,
        );
      seen.add(id);
    }
  }

  private async run(utterances: Utterance[], signal: AbortSignal | undefined): Promise<Transcript[]> {
    signal?.throwIfAborted();
    const { tempDir, wavEncoding, env, logger } = this.settings;
    const dir = await makeScratchDir(tempDir);
    holdTempPath(dir);
    try {
      const manifest = await writeBatchInput(dir, utterances, wavEncoding).catch((error: unknown) => {
        if (error instanceof QuantgateError) throw error;
        throw new QuantgateError(
          `cannot write the ${this.label}'s audio and manifest into ${dir} (${describeError(error)}); free space there or choose another temp folder`,
          { cause: error },
        );
      });
      const output = join(dir, 'output.jsonl');
      logger?.info(`${this.label}: transcribing ${formatCount(utterances.length)} utterances`);
      const outcome = await runProcessGroup(renderCommand(this.template, { ...this.values, manifest, output }), {
        env,
        timeoutMs: this.settings.timeoutSeconds === undefined ? undefined : this.settings.timeoutSeconds * 1000,
        signal,
        onLine: logger && ((line) => logger.info(`${this.label}: ${line}`)),
        redact: this.settings.redact,
      });
      const exitProblem = this.exitProblem(outcome);
      if (exitProblem) throw this.failure(exitProblem, outcome.stderrTail);
      const checked = await readBatchOutput(
        output,
        utterances.map(({ id }) => id),
      );
      if (!checked.ok) throw this.failure(checked, outcome.stderrTail);
      return checked.transcripts;
    } finally {
      await rm(dir, { recursive: true, force: true });
      releaseTempPath(dir);
    }
  }

  private exitProblem({ code, signal, timedOut }: GroupOutcome): Omit<OutputProblem, 'ok'> | undefined {
    if (timedOut) {
      return {
        problem: `did not finish within ${this.settings.timeoutSeconds} s and was stopped`,
        fix: 'raise the command timeout, or find where the command hangs',
      };
    }
    if (signal) {
      return {
        problem: `was killed by ${signal}`,
        fix: 'it may have run out of memory — lower the batch size, or run the command by hand to see what stopped it',
      };
    }
    if (code !== 0) {
      return {
        problem: `exited with code ${code}`,
        fix: 'fix the command so that it exits with 0 after writing {output} (run it by hand on a manifest of a few WAV files to debug it)',
      };
    }
    return undefined;
  }

  private failure({ problem, fix }: Omit<OutputProblem, 'ok'>, stderrTail: string): QuantgateError {
    const stderr = stderrTail ? `stderr: ${stderrTail}` : 'no stderr';
    return new QuantgateError(this.settings.redact(`${this.label} ${problem} (${stderr}); ${fix}`));
  }
}

async function makeScratchDir(tempDir: string): Promise<string> {
  try {
    await mkdir(tempDir, { recursive: true });
    return await mkdtemp(join(tempDir, 'quantgate-command-'));
  } catch (error) {
    throw new QuantgateError(
      `cannot make a scratch folder in ${tempDir} (${describeError(error)}); choose a writable temp folder`,
      { cause: error },
    );
  }
}

function parseTemplates({ referenceCommand, candidateCommand }: CommandEngineOptions): Templates | undefined {
  if (referenceCommand === undefined && candidateCommand === undefined) return undefined;
  if (referenceCommand === undefined || candidateCommand === undefined) {
    const [given, missing] = referenceCommand === undefined ? ['candidate', 'reference'] : ['reference', 'candidate'];
    throw new QuantgateError(
      `the command engine has a ${given} command but no ${missing} command; configure both, as the gate compares the two`,
    );
  }
  const reference = parseCommandTemplate(referenceCommand, 'reference command');
  const candidate = parseCommandTemplate(candidateCommand, 'candidate command');
  for (const [label, template] of [
    ['reference command', reference],
    ['candidate command', candidate],
  ] as const) {
    for (const required of ['manifest', 'output'] as const) {
      if (!template.uses.has(required)) {
        throw new QuantgateError(
          `${label} never uses {${required}}, so it cannot know which file to ${required === 'manifest' ? 'read' : 'write'}; pass {manifest} and {output} to it`,
        );
      }
    }
  }
  if (reference.uses.has('gguf')) {
    throw new QuantgateError(
      'reference command uses {gguf}, which names the quantized model and exists only for the candidate command; load the original weights from {model_dir}',
    );
  }
  return { reference, candidate };
}

function checkSettings(options: CommandEngineOptions): Settings {
  const { sampleRate = DEFAULT_SAMPLE_RATE, timeoutSeconds, batchSize } = options;
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) {
    throw new QuantgateError(
      `command engine sample rate ${sampleRate} is not a positive whole number of Hz; use e.g. 16000`,
    );
  }
  if (timeoutSeconds !== undefined && !(timeoutSeconds > 0 && Number.isFinite(timeoutSeconds))) {
    throw new QuantgateError(
      `command timeout ${timeoutSeconds} s is not a positive number of seconds; give e.g. 3600, or none for no limit`,
    );
  }
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new QuantgateError(
      `command batch size ${batchSize} is not a positive whole number; give e.g. 256, or none to run all utterances at once`,
    );
  }
  const env = options.env ?? process.env;
  // Longest first, so a secret that contains another is replaced whole.
  const secrets = [...(options.secrets ?? []), ...environmentSecrets(env)].sort((a, b) => b.length - a.length);
  return {
    sampleRate,
    timeoutSeconds,
    batchSize: batchSize ?? Infinity,
    wavEncoding: options.wavEncoding ?? 'pcm16',
    tempDir: resolve(options.tempDir ?? tmpdir()),
    env,
    redact: (text) => secrets.reduce(redact, text),
    logger: options.logger,
  };
}

function environmentSecrets(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && value !== undefined && value.length >= MIN_SECRET_LENGTH)
    .map(([, value]) => value!);
}

function placeholderValues(model: ModelSource, variant: Variant, device: Device): PresetValues {
  return {
    model_dir: resolve(model.dir),
    gguf: variant.kind === 'candidate' ? ggufPath(variant.quantized) : '',
    device,
  };
}

/** The file a GGUF runtime opens: the .gguf, the first split (llama.cpp finds the rest), or the folder of byte shards. */
function ggufPath({ files, format }: QuantizedModel): string {
  const first = files[0];
  if (first === undefined) throw new Error('the quantized model lists no files');
  return resolve(format === 'bytes' ? dirname(first) : first);
}
