// The README.md model card of a quantized model published to the Hugging Face Hub, as gguf-my-repo
// writes one, with quantgate's measured results on it. Its YAML front matter makes the Hub link the
// source model (`base_model`, `base_model_relation: quantized`), tag the repo, and show the WERs
// as evaluation results (`model-index`). Its body says how each runtime loads the files, gives the
// results and the tensor types, and records where the files came from, down to each sha256.

import { stringify } from 'yaml';
import { formatBytes } from '../common/format.js';
import { escapeMarkdown, markdownTable } from '../report/markdown.js';
import {
  formatNatsInterval,
  formatRatio,
  NO_FIGURE,
  overallVerdictText,
  tokenGateText,
  unavailableText,
} from '../report/token-content.js';
import type { Manifest } from '../formats/gguf/manifest.js';
import { formatInterval, formatPercent, formatPoints } from '../scoring/figures.js';
import { formatNats, formatShare } from '../scoring/token-gate.js';
import type { ScoredComparison } from '../scoring/types.js';

export interface ModelCardInput {
  /** The Hub repository the card is for. */
  repoId: string;
  /** The Hub's address, for the download URLs shown (https://huggingface.co by default). */
  hubUrl?: string;
  manifest: Manifest;
  /** The evaluation, when the output was evaluated (eval_results.json). */
  comparison?: ScoredComparison;
  /** The source model card's license, copied when it has one. */
  license?: string;
  /** Tensors and bytes per GGUF type. */
  tensorTypes: readonly { type: string; tensors: number; bytes: number }[];
  quantgateVersion: string;
  /** The workflow run or the command that made the files. */
  provenance?: { runUrl?: string; command?: string };
}

const TAGS = ['gguf', 'quantgate', 'automatic-speech-recognition', 'speech-to-text'];

export function renderModelCard(input: ModelCardInput): string {
  return `---\n${stringify(frontMatter(input), { lineWidth: 0 })}---\n\n${body(input).join('\n\n')}\n`;
}

function frontMatter({ repoId, manifest, comparison, license, tensorTypes }: ModelCardInput): Record<string, unknown> {
  const source = manifest.source.repoId;
  const dominant = [...tensorTypes].sort((a, b) => b.bytes - a.bytes)[0]?.type;
  const matter: Record<string, unknown> = {
    ...(source && { base_model: source, base_model_relation: 'quantized' }),
    ...(license && { license }),
    tags: [...TAGS, ...(dominant ? [dominant.toLowerCase()] : [])],
    pipeline_tag: 'automatic-speech-recognition',
  };
  if (comparison) matter['model-index'] = [modelIndex(repoId, comparison)];
  return matter;
}

/** The Hub's evaluation-results block: the float model's and the quantized file's WER on the dataset. */
function modelIndex(repoId: string, comparison: ScoredComparison): Record<string, unknown> {
  const { dataset } = comparison;
  const { config, split } = hubConfigAndSplit(dataset.split, dataset.config);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    name: repoId.split('/').pop(),
    results: [
      {
        task: { type: 'automatic-speech-recognition', name: 'Automatic Speech Recognition' },
        dataset: {
          name: dataset.name === 'openslr/librispeech_asr' ? `LibriSpeech (${config ?? 'clean'})` : dataset.name,
          type: dataset.name,
          ...(config && { config }),
          ...(split && { split }),
          ...(dataset.revision && { revision: dataset.revision }),
        },
        metrics: [
          { type: 'wer', value: round(comparison.reference.werPercent), name: 'WER of the float model (reference)' },
          { type: 'wer', value: round(comparison.candidate.werPercent), name: 'WER of this quantized file' },
        ],
      },
    ],
  };
}

/**
 * The Hub's config and split of a dataset split name: LibriSpeech's parquet layout names splits
 * `test.clean`, which the Hub's dataset viewer shows as config `clean`, split `test`.
 */
function hubConfigAndSplit(split: string | undefined, config: string | undefined): { config?: string; split?: string } {
  const dotted = split ? /^(train|validation|test)\.(\w+)$/.exec(split) : null;
  if (dotted && !config) return { config: dotted[2], split: dotted[1] };
  return { ...(config && { config }), ...(split && { split }) };
}

function body(input: ModelCardInput): string[] {
  const { repoId, manifest } = input;
  const title = `# ${repoId.split('/').pop()}`;
  const intro = manifest.source.repoId
    ? `GGUF of [${manifest.source.repoId}](https://huggingface.co/${manifest.source.repoId}), quantized and evaluated by quantgate ${input.quantgateVersion}. Tensors keep their original safetensors names.`
    : `A GGUF quantized and evaluated by quantgate ${input.quantgateVersion}. Tensors keep their original safetensors names.`;
  return [title, intro, ...loading(input), ...results(input), ...tensors(input), ...provenance(input)];
}

function loading({ repoId, manifest, hubUrl }: ModelCardInput): string[] {
  const base = `${(hubUrl ?? 'https://huggingface.co').replace(/\/$/, '')}/${repoId}/resolve/main`;
  const paths = manifest.files.map((file) => file.path);
  const section = ['## Loading'];
  if (manifest.format === 'bytes') {
    const shards = paths.filter((path) => !path.endsWith('.gguf'));
    const largest = Math.max(...manifest.files.filter((file) => shards.includes(file.path)).map((file) => file.size));
    section.push(
      `The model is one GGUF cut into ${shards.length} byte shards of at most ${formatBytes(largest)}. A browser runtime such as stt-web takes the shard URLs as a list, in this order:`,
      fenced(
        'json',
        JSON.stringify(
          shards.map((path) => `${base}/${path}`),
          null,
          2,
        ),
      ),
      'To rebuild the single file, concatenate them in order:',
      fenced('sh', `cat ${shards.join(' ')} > model.gguf`),
    );
    const single = paths.find((path) => path.endsWith('.gguf'));
    if (single)
      section.push(
        `The single file is here too, as \`${single}\`, for runtimes that load one file (candle, native tests).`,
      );
  } else if (manifest.format === 'gguf-split') {
    section.push(
      `The model is split with llama.cpp's gguf-split into ${paths.length} files; llama.cpp and wllama load the first and find the rest:`,
      fenced('sh', `llama-cli -m ${paths[0]}   # or merge: llama-gguf-split --merge ${paths[0]} model.gguf`),
    );
  } else {
    section.push(`One file, \`${paths[0]}\`, which any GGUF reader loads.`);
  }
  return section;
}

function results({ comparison }: ModelCardInput): string[] {
  if (!comparison) return ['## Results', 'This file was not evaluated.'];
  const { dataset, delta, gate } = comparison;
  const rows = [
    ['float model (reference)', formatPercent(comparison.reference.werPercent)],
    ['this file', formatPercent(comparison.candidate.werPercent)],
    [
      'ΔWER',
      `${formatPoints(delta.points)} points, ${Math.round(delta.confidence * 100)}% interval ${formatInterval(delta.low, delta.high)}`,
    ],
  ];
  const kld = comparison.kld;
  const nats = (value: number | null) => (value === null ? NO_FIGURE : formatNats(value));
  if (kld?.available) {
    rows.push(
      ['mean KL divergence', `${formatNats(kld.mean)} nats, 95% interval ${formatNatsInterval(kld.interval)}`],
      ['KLD median / p99 / max', `${nats(kld.median)} / ${nats(kld.p99)} / ${formatNats(kld.max)} nats`],
      ['top-1 agreement', formatShare(kld.top1Agreement)],
      ['perplexity ratio', formatRatio(kld.perplexityRatio)],
    );
  } else if (kld) {
    rows.push(['token metrics', unavailableText(kld.reason)]);
  }
  const source = [
    dataset.name,
    dataset.split && `split ${dataset.split}`,
    dataset.revision && `revision ${dataset.revision}`,
  ]
    .filter(Boolean)
    .join(', ');
  return [
    '## Results',
    `On ${comparison.utteranceCount} utterances of ${source} (${comparison.wordCount} words, ${comparison.normalizer} normalizer), with the same engine (${comparison.run.engine ?? 'unknown'}) running the float weights and this file:`,
    table(['', 'value'], rows),
    `Gate (${gate.mode} mode, ${gate.thresholdPoints.toFixed(2)} points): **${gate.verdict.toUpperCase()}**, ${gate.reason}.`,
    ...(comparison.tokenGates ?? []).map((token) => `Gate ${token.gate}: ${tokenGateText(token)}.`),
    ...(comparison.tokenGates?.length ? [`Verdict: **${overallVerdictText(comparison)}**.`] : []),
  ];
}

function tensors({ tensorTypes, manifest }: ModelCardInput): string[] {
  const rows = tensorTypes.map(({ type, tensors: count, bytes }) => [type, String(count), formatBytes(bytes)]);
  return [
    '## Tensor types',
    table(['type', 'tensors', 'bytes'], rows, ['left', 'right', 'right']),
    `${manifest.tensorCount} tensors, ${formatBytes(manifest.totalSize)} in all.`,
  ];
}

function provenance({ manifest, quantgateVersion, provenance: made }: ModelCardInput): string[] {
  const { source } = manifest;
  const lines = [
    source.repoId
      ? `- source: ${source.repoId}${source.revision ? ` at commit ${source.revision}` : ''}`
      : `- source: a local folder${source.path ? ` (${source.path})` : ''}`,
    `- quantgate ${quantgateVersion}`,
    ...(made?.runUrl ? [`- workflow run: ${made.runUrl}`] : []),
    ...(made?.command ? [`- command: \`${made.command}\``] : []),
  ];
  const files = table(
    ['file', 'bytes', 'sha256'],
    manifest.files.map((file) => [file.path, String(file.size), file.sha256]),
    ['left', 'right', 'left'],
  );
  return ['## Provenance', lines.join('\n'), files];
}

function fenced(language: string, text: string): string {
  return `\`\`\`${language}\n${text}\n\`\`\``;
}

/** A markdown table of plain-text cells. */
function table(header: string[], rows: string[][], align: ('left' | 'right')[] = header.map(() => 'left')): string {
  return markdownTable(
    [header, ...rows].map((row) => row.map(escapeMarkdown)),
    align,
  );
}
