// What every rendering of a scored comparison says about token-level damage and the gates beside
// the WER gate: the KLD figures as table cells, the overall verdict's wording, the utterances of
// largest KLD, and which variants' results were reused. eval_results.txt, the terminal summary and
// the markdown summary lay these out each in their own way.

import { formatInteger } from '../scoring/figures.js';
import { formatNats, formatShare, verdictOf, type TokenGateDecision } from '../scoring/token-gate.js';
import type { KldFigures, RunInfo, ScoredComparison, UtteranceRecord } from '../scoring/types.js';
import { errorsOf } from '../scoring/wer.js';
import { signed } from './summary-content.js';

/** How many utterances of largest KLD the renderings list. */
export const LARGEST_KLD_SHOWN = 10;

/** Column headers of the KLD table, and the one row of a run's figures under them. */
export const KLD_HEADER = [
  'mean KLD (nats)',
  '95% interval',
  'median',
  'p99',
  'max',
  'same top-1',
  'PPL ratio',
  'steps',
];

export function kldRow(kld: KldFigures): string[] {
  return [
    formatNats(kld.mean),
    formatNatsInterval(kld.interval),
    optionalNats(kld.median),
    optionalNats(kld.p99),
    formatNats(kld.max),
    formatShare(kld.top1Agreement),
    formatRatio(kld.perplexityRatio),
    formatInteger(kld.steps),
  ];
}

/** What a table shows for a figure it does not have (a merge's median and p99, an utterance's missing top-1). */
export const NO_FIGURE = '—';

/** Why a merge of shards has no median or p99: shards record no per-step KLDs. */
export const NOT_KEPT_REASON = 'not kept when shards are merged';

function optionalNats(value: number | null): string {
  return value === null ? NO_FIGURE : formatNats(value);
}

/** The sentence under a KLD table whose median and p99 a merge left out; undefined when it has them. */
export function percentilesNote(kld: KldFigures): string | undefined {
  return kld.median === null || kld.p99 === null ? `Median and p99: ${NOT_KEPT_REASON}.` : undefined;
}

export function formatNatsInterval([low, high]: readonly [number, number]): string {
  return `[${formatNats(low)}, ${formatNats(high)}]`;
}

/** A perplexity ratio with four decimals: `1.0123`. */
export function formatRatio(ratio: number): string {
  return ratio.toFixed(4);
}

/** The sentence for a run without token metrics. */
export function unavailableText(reason: string): string {
  return `not available (${reason})`;
}

/** The verdict over the WER gate and every token gate, with the gates that decided it: `FAIL: the WER and max-kld gates fail`. */
export function overallVerdictText(comparison: Pick<ScoredComparison, 'gate' | 'tokenGates'>): string {
  const verdict = verdictOf(comparison);
  const gates = [
    { name: 'WER', verdict: comparison.gate.verdict },
    ...(comparison.tokenGates ?? []).map((gate) => ({ name: gate.gate, verdict: gate.verdict })),
  ];
  const deciding = gates.filter((gate) => gate.verdict === verdict).map((gate) => gate.name);
  const names = deciding.length === 1 ? deciding[0]! : `${deciding.slice(0, -1).join(', ')} and ${deciding.at(-1)!}`;
  const plural = deciding.length > 1;
  const verb = verdict === 'pass' ? (plural ? 's pass' : ' passes') : plural ? 's fail' : ' fails';
  return `${verdict.toUpperCase()}: the ${names} gate${verb}`;
}

/** One token gate's own verdict: `PASS: the mean KLD, … is within the 0.05-nat limit`. */
export function tokenGateText(gate: TokenGateDecision): string {
  return `${gate.verdict.toUpperCase()}: ${gate.reason}`;
}

export interface LargeKld {
  record: UtteranceRecord & { kld: number };
  /** Candidate errors minus reference errors. */
  change: number;
}

/** The utterances with token metrics, largest KLD first (ties by id), with their change in errors. */
export function largestKld(utterances: readonly UtteranceRecord[]): LargeKld[] {
  return utterances
    .filter((record): record is UtteranceRecord & { kld: number } => record.kld !== undefined)
    .map((record) => ({ record, change: errorsOf(record.candidate.counts) - errorsOf(record.reference.counts) }))
    .sort(
      (a, b) => b.record.kld - a.record.kld || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0),
    );
}

export function largestKldTitle(shown: number, measured: number): string {
  return `Utterances with the largest KLD (${shown} of ${formatInteger(measured)} measured)`;
}

export const LARGEST_KLD_HEADER = ['id', 'KLD (nats)', 'same top-1', 'Δ errors'];

/** An utterance's row under LARGEST_KLD_HEADER. */
export function largestKldCells({ record, change }: LargeKld): string[] {
  return [
    record.id,
    formatNats(record.kld),
    record.top1Agreement === undefined ? NO_FIGURE : formatShare(record.top1Agreement),
    signed(change),
  ];
}

/** Which variants' results came from the results store: `reference: reused results, candidate: evaluated`; undefined when none did. */
export function reuseText(run: RunInfo): string | undefined {
  const { reused } = run;
  if (!reused || (!reused.reference && !reused.candidate)) return undefined;
  const state = (isReused: boolean) => (isReused ? 'reused results' : 'evaluated');
  return `reference: ${state(reused.reference)}, candidate: ${state(reused.candidate)}`;
}
