// `quantgate transcribe`: runs one engine over audio files and prints a transcript per file, with
// the original weights, or with --gguf the candidate that reads its weights from the quantized
// model. For trying a model, an engine setup or a device before a full run.

import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AudioDecoder } from '../../audio/decode.js';
import type { Resampler } from '../../audio/resample.js';
import { QuantgateError, describeError, isQuantgateError } from '../../common/errors.js';
import { choiceOption, flagOption, numberOption, requiredString, stringOption } from '../../common/option-values.js';
import { createProgress } from '../../common/progress.js';
import type { Utterance } from '../../datasets/utterance.js';
import { CANDIDATE_MODES, DEVICES, ENGINE_NAMES, runsOnOnnxruntime } from '../../engines/catalogue.js';
import type { QuantizedModel, Variant } from '../../engines/engine.js';
import { BYTE_SHARD_PREFIX } from '../../formats/gguf/byte-shards.js';
import { openGgufModel } from '../../formats/gguf/open.js';
import { manifestCandidates } from '../../formats/gguf/output-layout.js';
import { DEFAULT_RUN_OPTIONS } from '../../pipeline/options.js';
import { EXIT_OK, type Command } from '../command.js';

export const transcribeCommand: Command = {
  usage: `
usage: quantgate transcribe --model-path <dir> [options] <audio files…>

  --model-path <dir>          the model folder (e.g. a Hugging Face snapshot); --model also works
  --gguf <path>               use the candidate: weights from this quantized model (a .gguf,
                              a folder of byte shards, or a gguf-split part or folder)
  --engine <e>                ${ENGINE_NAMES.join(' | ')} (default auto)
  --device <d>                ${DEVICES.join(' | ')} (default auto: CUDA when an NVIDIA GPU is usable)
  --candidate-mode <m>        ${CANDIDATE_MODES.join(' | ')}: how ONNX candidates read Q4_0 weights
                              (default ${DEFAULT_RUN_OPTIONS.candidateMode})
  --reference-command <tpl>, --candidate-command <tpl>, --command-timeout <s>
                              the command engine (see docs/ENGINES.md)
  --batch-size <n>            files per engine call (default ${DEFAULT_RUN_OPTIONS.batchSize})
  --json                      one JSON object per file: file, text, engine, device, tokens

Audio files are WAV or FLAC, resampled to the engine's rate. Each transcript is printed as
<file><TAB><text>, in the order given.
`,
  options: {
    'model-path': { type: 'string' },
    gguf: { type: 'string' },
    engine: { type: 'string' },
    device: { type: 'string' },
    'candidate-mode': { type: 'string' },
    'reference-command': { type: 'string' },
    'candidate-command': { type: 'string' },
    'command-timeout': { type: 'string' },
    'batch-size': { type: 'string' },
    json: { type: 'boolean' },
  },
  aliases: { model: 'model-path' },
  allowPositionals: true,
  async run(values, files, context) {
    const dir = requiredString(values, 'model-path');
    if (files.length === 0) throw new QuantgateError('no audio files given; pass WAV or FLAC files after the options');
    const batchSize = numberOption(values, 'batch-size', { min: 1, integer: true }) ?? DEFAULT_RUN_OPTIONS.batchSize;
    const json = flagOption(values, 'json') ?? false;
    const progress = createProgress({ stream: context.stderr });
    const signal = context.stop?.signal;
    context.stop?.enter('load');
    // The engines, onnxruntime and the audio decoders load only now, so that --help stays fast.
    const [{ engineFactories, selectEngine }, { resolveDevice }, { AudioDecoder }, { Resampler }] = await Promise.all([
      import('../../engines/registry.js'),
      import('../../engines/device.js'),
      import('../../audio/decode.js'),
      import('../../audio/resample.js'),
    ]);
    const factories = engineFactories({
      referenceCommand: stringOption(values, 'reference-command'),
      candidateCommand: stringOption(values, 'candidate-command'),
      timeoutSeconds: numberOption(values, 'command-timeout', { min: 0 }),
      candidateMode: choiceOption(values, 'candidate-mode', CANDIDATE_MODES),
      progress,
    });
    const factory = await selectEngine(factories, choiceOption(values, 'engine', ENGINE_NAMES) ?? 'auto', { dir });
    const device = await resolveDevice(choiceOption(values, 'device', DEVICES) ?? 'auto', {
      env: context.env,
      progress,
      onnxruntime: runsOnOnnxruntime(factory.name),
    });
    const gguf = stringOption(values, 'gguf');
    const variant: Variant =
      gguf === undefined ? { kind: 'reference' } : { kind: 'candidate', quantized: await quantizedModelAt(gguf) };
    const engine = await factory.open({ dir }, variant, { device });
    context.stop?.enter('transcribe');
    const decoder = new AudioDecoder();
    const resampler = new Resampler(engine.sampleRate);
    try {
      for (let start = 0; start < files.length; start += batchSize) {
        const batch = files.slice(start, start + batchSize);
        const utterances: Utterance[] = [];
        for (const file of batch) {
          signal?.throwIfAborted();
          utterances.push(await readUtterance(file, decoder, resampler));
        }
        const transcripts = await engine.transcribe(utterances, signal);
        transcripts.forEach(({ text, tokens }, i) => {
          const line = json
            ? JSON.stringify({
                file: batch[i],
                text,
                engine: engine.name,
                device: engine.device,
                ...(tokens && { tokens }),
              })
            : `${batch[i]}\t${text}`;
          context.stdout.write(`${line}\n`);
        });
      }
    } finally {
      decoder.close();
      await resampler.close();
      await engine.close();
    }
    return EXIT_OK;
  },
};

/** The file decoded, mixed down to mono and resampled to the resampler's rate; its id is the path as given. */
async function readUtterance(file: string, decoder: AudioDecoder, resampler: Resampler): Promise<Utterance> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new QuantgateError(`cannot read ${file} (${describeError(error)}); check the path`, { cause: error });
  }
  try {
    const { samples, sampleRate } = await decoder.decode(bytes);
    return {
      id: file,
      audio: await resampler.resample(samples, sampleRate),
      sampleRate: resampler.targetRate,
      text: '',
    };
  } catch (error) {
    if (!isQuantgateError(error)) throw error;
    throw new QuantgateError(`${file}: ${error.message}`, { cause: error });
  }
}

/** The quantized model at `path`, opened once so that a wrong path fails here rather than in the engine. */
async function quantizedModelAt(path: string): Promise<QuantizedModel> {
  const model = await openGgufModel(path);
  await model.close();
  const open = () => openGgufModel(path);
  const isFolder = (await stat(path)).isDirectory();
  if ('parts' in model) {
    const files = (model.parts as readonly { path: string }[]).map((part) => part.path);
    return { files, format: 'gguf-split', manifestPath: manifestBeside(isFolder ? path : dirname(path)), open };
  }
  if (isFolder) {
    const shards = (await readdir(path)).filter((name) => name.startsWith(BYTE_SHARD_PREFIX)).sort();
    return { files: shards.map((name) => join(path, name)), format: 'bytes', manifestPath: manifestBeside(path), open };
  }
  return { files: [path], format: 'single', manifestPath: manifestBeside(path), open };
}

/** Where `quantgate quantize` writes the manifest of the output at `output`; transcribe never reads it. */
function manifestBeside(output: string): string {
  return manifestCandidates(output)[0]!;
}
