// What both renderings of a scored comparison say beyond the figures: the data set line and the
// utterances whose error count changed, regressions first. The markdown and terminal renderers
// lay these out each in their own way.

import { formatInteger, formatQuantity } from '../scoring/figures.js';
import type { ScoredComparison, UtteranceRecord } from '../scoring/types.js';
import { errorsOf } from '../scoring/wer.js';

export const DEFAULT_CHANGED_LIMIT = 10;

export interface SummaryOptions {
  /** How many changed utterances to list (default 10). */
  changedLimit?: number;
}

export interface ChangedUtterance {
  record: UtteranceRecord;
  /** Candidate errors minus reference errors. */
  change: number;
}

/** Utterances whose error count differs between the systems: regressions worst first, then improvements largest first. */
export function changedUtterances(utterances: readonly UtteranceRecord[]): ChangedUtterance[] {
  const changed = utterances
    .map((record) => ({ record, change: errorsOf(record.candidate.counts) - errorsOf(record.reference.counts) }))
    .filter(({ change }) => change !== 0);
  return changed.sort((a, b) => {
    if (a.change > 0 !== b.change > 0) return a.change > 0 ? -1 : 1;
    return (
      Math.abs(b.change) - Math.abs(a.change) || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0)
    );
  });
}

export function changedTitle(shown: number, changed: number, total: number): string {
  return `Utterances whose error count changed most (${shown} of ${formatInteger(changed)} changed, of ${formatInteger(total)} scored)`;
}

export function datasetLine(comparison: ScoredComparison): string {
  const { dataset } = comparison;
  const name = [
    dataset.name,
    dataset.config && `(${dataset.config})`,
    dataset.split,
    dataset.revision && `@ ${dataset.revision.slice(0, 12)}`,
  ]
    .filter(Boolean)
    .join(' ');
  const facts = [
    name,
    formatQuantity(comparison.utteranceCount, 'utterance'),
    formatQuantity(comparison.wordCount, 'word'),
    `${comparison.normalizer} normalizer`,
    comparison.droppedEmptyIds.length > 0 &&
      `${formatQuantity(comparison.droppedEmptyIds.length, 'empty reference')} dropped`,
    comparison.failedUtterances.length > 0 && formatQuantity(comparison.failedUtterances.length, 'failed utterance'),
  ];
  return `Data set: ${facts.filter(Boolean).join(' · ')}`;
}

export function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}
