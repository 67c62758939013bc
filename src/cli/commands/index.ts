// The commands of the quantgate CLI, in the order `--help` lists them. Each is imported only when
// it runs, so that `quantgate --help`, `normalize` and `wer` do not load the Hub client, the
// artifact and cache SDKs or onnxruntime (bench/startup.bench.ts measures this).

import type { CommandEntry } from '../command.js';

export const commands: readonly CommandEntry[] = [
  {
    name: 'run',
    summary: 'quantize, evaluate original and quantized WER, and gate (offline demo with no arguments)',
    load: async () => (await import('./run.js')).runCommand,
  },
  {
    name: 'quantize',
    summary: 'quantize safetensors weights to sharded GGUF (Q4_0 by default)',
    load: async () => (await import('./quantize.js')).quantizeCommand,
  },
  {
    name: 'verify',
    summary: 'check a quantized model: GGUF structure, manifest sha256s, values against the source',
    load: async () => (await import('./verify.js')).verifyCommand,
  },
  {
    name: 'sensitivity',
    summary: 'rank the quantized tensors by how much quantizing each alone moves the output (mean KLD)',
    load: async () => (await import('./sensitivity.js')).sensitivityCommand,
  },
  {
    name: 'tune',
    summary: 'find the smallest mix of tensor types (Q4_0, F16, …) whose evaluation stays within the gate',
    load: async () => (await import('./tune.js')).tuneCommand,
  },
  {
    name: 'transcribe',
    summary: 'transcribe audio files with an engine, from the original weights or a quantized GGUF',
    load: async () => (await import('./transcribe.js')).transcribeCommand,
  },
  {
    name: 'download',
    summary: 'download a model or dataset from the Hugging Face Hub into the shared cache',
    load: async () => (await import('./download.js')).downloadCommand,
  },
  {
    name: 'normalize',
    summary: 'normalize transcripts on stdin the way WER scoring does, one line out per line in',
    load: async () => (await import('./normalize.js')).normalizeCommand,
  },
  {
    name: 'wer',
    summary: 'word error rate of transcript files; with --baseline, gate the WER difference of two systems',
    load: async () => (await import('./wer.js')).werCommand,
  },
  {
    name: 'publish',
    summary: 'publish a quantized output to a Hugging Face Hub model repo in one commit, with a model card',
    load: async () => (await import('./publish.js')).publishCommand,
  },
  {
    name: 'history',
    summary: "print a gate history file's runs as a table, or draw them as an SVG chart",
    load: async () => (await import('./history.js')).historyCommand,
  },
  {
    name: 'download-release',
    summary: 'download a published quantized model from a release or an artifact and verify it',
    load: async () => (await import('./download-release.js')).downloadReleaseCommand,
  },
];
