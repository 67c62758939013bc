import { formatBytes, formatCount, formatDuration } from '../../src/common/format.js';

test('figures read well whatever their size', () => {
  expect(formatCount(42)).toBe('42');
  expect(formatCount(44.566145675053875)).toBe('44.6');
  expect(formatCount(1234)).toBe('1.2k');
  expect(formatCount(255_000_000)).toBe('255.0M');
  expect(formatBytes(512)).toBe('512 B');
  expect(formatBytes(3 * 1024 * 1024)).toBe('3.00 MiB');
  expect(formatDuration(3.25)).toBe('3.3s');
  expect(formatDuration(125)).toBe('2m05s');
  expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
});
