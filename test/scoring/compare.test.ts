import { QuantgateError } from '../../src/common/errors.js';
import {
  compareSystems,
  compareSystemsInSlices,
  pairById,
  summarizeComparison,
  type ComparisonInput,
  type NamedNormalizer,
} from '../../src/scoring/compare.js';

const lowercase: NamedNormalizer = { name: 'lowercase', normalize: (text) => text.toLowerCase().replace(/[.,]/g, '') };
const dataset = { name: 'test-set', split: 'test' };

/** `count` utterances of ten words; each system substitutes its first `errors` words of the set. */
function inputs(count: number, referenceErrors: number, candidateErrors: number): ComparisonInput[] {
  return Array.from({ length: count }, (_, i) => {
    const words = Array.from({ length: 10 }, (__, w) => `w${w}`);
    const output = (errors: number) => words.map((word, w) => (i * 10 + w < errors ? 'wrong' : word)).join(' ');
    return {
      id: `u${i}`,
      transcript: words.join(' '),
      reference: { text: output(referenceErrors) },
      candidate: { text: output(candidateErrors) },
    };
  });
}

describe('pairById', () => {
  const utterances = [
    { id: 'a', text: 'one' },
    { id: 'b', text: 'two' },
  ];

  test('joins both systems by id in data set order, keeping timings', () => {
    const paired = pairById(
      utterances,
      [
        { id: 'b', text: 'B' },
        { id: 'a', text: 'A', ms: 12 },
      ],
      [
        { id: 'a', text: 'a' },
        { id: 'b', text: 'b' },
      ],
    );
    expect(paired).toEqual([
      { id: 'a', transcript: 'one', reference: { text: 'A', ms: 12 }, candidate: { text: 'a' } },
      { id: 'b', transcript: 'two', reference: { text: 'B' }, candidate: { text: 'b' } },
    ]);
  });

  test('a missing, unknown or repeated id is an error naming it', () => {
    const both = [
      { id: 'a', text: 'A' },
      { id: 'b', text: 'B' },
    ];
    expect(() => pairById(utterances, both, [{ id: 'a', text: 'a' }])).toThrow(
      'the candidate system has no transcript for utterance "b"',
    );
    expect(() => pairById(utterances, [...both, { id: 'c', text: 'C' }], both)).toThrow(
      /reference system returned a transcript for utterance "c", which the data set lacks/,
    );
    expect(() => pairById(utterances, both, [...both, { id: 'a', text: 'again' }])).toThrow(
      /candidate system returned two transcripts for utterance "a"/,
    );
    expect(() => pairById([...utterances, { id: 'a', text: 'x' }], both, both)).toThrow(QuantgateError);
  });
});

describe('compareSystems', () => {
  test('normalizes, scores both systems and records every utterance', () => {
    const comparison = compareSystems(
      [
        {
          id: 'a',
          transcript: 'Hello, World.',
          reference: { text: 'hello world', ms: 5 },
          candidate: { text: 'hello word' },
        },
        { id: 'silent', transcript: '...', reference: { text: 'uh' }, candidate: { text: '' } },
        {
          id: 'b',
          transcript: 'Good morning',
          reference: { text: 'good morning to you' },
          candidate: { text: 'good morning' },
        },
      ],
      lowercase,
      { dataset, run: { engine: 'fake' } },
    );
    expect(comparison).toMatchObject({
      dataset,
      normalizer: 'lowercase',
      utteranceCount: 2,
      wordCount: 4,
      droppedEmptyIds: ['silent'],
      failedUtterances: [],
      reference: { insertions: 2, werPercent: 50 },
      candidate: { substitutions: 1, werPercent: 25 },
      delta: { points: -25, resamples: 10_000 },
      gate: { mode: 'point', thresholdPoints: 2, verdict: 'pass' },
      run: { engine: 'fake' },
    });
    expect(comparison.utterances[0]).toEqual({
      id: 'a',
      transcript: 'Hello, World.',
      transcriptNormalized: 'hello world',
      reference: {
        text: 'hello world',
        normalized: 'hello world',
        counts: { substitutions: 0, deletions: 0, insertions: 0, hits: 2, referenceWords: 2 },
        ms: 5,
      },
      candidate: {
        text: 'hello word',
        normalized: 'hello word',
        counts: { substitutions: 1, deletions: 0, insertions: 0, hits: 1, referenceWords: 2 },
      },
    });
  });

  test('ΔWER exactly at the threshold passes and one more error fails', () => {
    // 100 words: each extra candidate error is exactly one point.
    expect(compareSystems(inputs(10, 0, 2), lowercase, { dataset }).delta.points).toBe(2);
    expect(compareSystems(inputs(10, 0, 2), lowercase, { dataset }).gate.verdict).toBe('pass');
    expect(compareSystems(inputs(10, 0, 3), lowercase, { dataset }).gate.verdict).toBe('fail');
    // 150 words, 4 and 7 errors: 100·7/150 − 100·4/150 is 2.0000000000000004 in floating point;
    // ΔWER must come out as exactly 2 and pass.
    const atThreshold = compareSystems(inputs(15, 4, 7), lowercase, { dataset });
    expect(atThreshold.delta.points).toBe(2);
    expect(atThreshold.gate.verdict).toBe('pass');
  });

  test('gate and bootstrap options reach the result', () => {
    const comparison = compareSystems(inputs(10, 0, 3), lowercase, {
      dataset,
      gate: { mode: 'lenient', thresholdPoints: 5 },
      bootstrap: { seed: 9, resamples: 200 },
    });
    expect(comparison.gate).toMatchObject({ mode: 'lenient', thresholdPoints: 5, verdict: 'pass' });
    expect(comparison.delta).toMatchObject({ seed: 9, resamples: 200, probabilityWorse: expect.any(Number) });
  });

  test('repeated ids are an error, also when merging records', () => {
    const [first] = inputs(1, 0, 0);
    expect(() => compareSystems([first!, first!], lowercase, { dataset })).toThrow(
      'utterance id "u0" appears twice; ids must be unique',
    );
    const part = compareSystems(inputs(2, 0, 0), lowercase, { dataset });
    expect(() => summarizeComparison({ ...part, utterances: [...part.utterances, ...part.utterances] })).toThrow(
      'utterance id "u0" appears twice',
    );
  });

  test('summarizing the concatenated records of two halves reproduces the whole comparison', () => {
    const all = inputs(30, 9, 17);
    const whole = compareSystems(all, lowercase, { dataset });
    const first = compareSystems(all.slice(0, 12), lowercase, { dataset });
    const second = compareSystems(all.slice(12), lowercase, { dataset });
    const merged = summarizeComparison({ ...first, utterances: [...first.utterances, ...second.utterances] });
    expect(merged).toEqual(whole);
  });
});

describe('compareSystemsInSlices', () => {
  test('gives exactly the comparison compareSystems gives', async () => {
    const many = inputs(450, 37, 91).map((input, i) => ({
      ...input,
      transcript: i % 2 ? input.transcript.toUpperCase() : input.transcript,
    }));
    const context = { dataset, bootstrap: { resamples: 1234, seed: 7 } };
    expect(await compareSystemsInSlices(many, lowercase, context)).toEqual(compareSystems(many, lowercase, context));
  });

  test("stops between slices when its signal is aborted, with the signal's reason", async () => {
    const controller = new AbortController();
    let normalized = 0;
    const counting: NamedNormalizer = { name: 'counting', normalize: (text) => (normalized++, text) };
    const run = compareSystemsInSlices(
      inputs(1000, 0, 0),
      counting,
      { dataset, bootstrap: { resamples: 1_000_000 } },
      controller.signal,
    );
    controller.abort(new Error('stop now'));
    await expect(run).rejects.toThrow('stop now');
    expect(normalized).toBeLessThan(3000);
  });
});
