// How progress reads: bytes out of the total, percentage, speed and ETA; in CI logs one line per
// interval however often the task advances; on a terminal one rewritten line; nothing when silent.

import { Writable } from 'node:stream';
import { createProgress, type ProgressOptions } from '../../src/common/progress.js';

const MiB = 1024 * 1024;

/** A stream that keeps what was written, a clock the test moves, and a progress over both. */
function recorder(options: Omit<ProgressOptions, 'stream' | 'now'> = {}, isTTY = false) {
  const written: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk.toString());
        done();
      },
    }),
    { isTTY },
  );
  // write() on a Writable is synchronous up to _write, which this stream runs at once.
  const clock = { ms: 0 };
  const progress = createProgress({ ...options, stream, now: () => clock.ms });
  return { written, clock, progress };
}

describe('createProgress', () => {
  test('CI logs get one line per interval with bytes of the total, percentage, speed and ETA, then a closing line', () => {
    const { written, clock, progress } = recorder({ style: 'lines', intervalMs: 5000 });
    const task = progress.task('downloading org/model', { total: 100 * MiB, unit: 'bytes' });
    // Many small advances, 4 MiB a second: the log must not get a line for each.
    for (let ms = 125; ms <= 12_000; ms += 125) {
      clock.ms = ms;
      task.advance(MiB / 2);
    }
    task.finish();
    expect(written).toEqual([
      'downloading org/model  20.0 MiB / 100.0 MiB  20%  4.00 MiB/s  ETA 20s\n',
      'downloading org/model  40.0 MiB / 100.0 MiB  40%  4.00 MiB/s  ETA 15s\n',
      'downloading org/model  48.0 MiB / 100.0 MiB  48%  4.00 MiB/s  in 12s\n',
    ]);
  });

  test('counts carry their unit name, and a task without a total shows what is done and the rate', () => {
    const { written, clock, progress } = recorder({ style: 'lines', intervalMs: 1000 });
    const task = progress.task('comparing', { unit: 'count', unitName: 'values' });
    clock.ms = 2000;
    task.advance(3_000_000);
    task.finish('all within one step');
    expect(written).toEqual([
      'comparing  3.0M values  1.5M values/s\n',
      'comparing  3.0M values  1.5M values/s  in 2.0s  all within one step\n',
    ]);
  });

  test('a terminal gets one line rewritten in place, and messages clear it first', () => {
    const { written, clock, progress } = recorder({}, true);
    const task = progress.task('quantizing', { total: 10, unit: 'count', unitName: 'tensors' });
    clock.ms = 50;
    task.advance(1); // within the 100 ms terminal interval: not drawn
    clock.ms = 200;
    task.advance(1);
    progress.info('F16: 4 tensors');
    expect(written).toEqual([
      '\r\x1b[Kquantizing  2 tensors / 10 tensors  20%  10 tensors/s  ETA 0.8s',
      '\r\x1b[KF16: 4 tensors\n',
    ]);
  });

  test('silent prints nothing', () => {
    const { written, clock, progress } = recorder({ style: 'silent' });
    const task = progress.task('downloading', { total: 10, unit: 'bytes' });
    clock.ms = 60_000;
    task.advance(10);
    task.finish();
    progress.info('done');
    expect(written).toEqual([]);
  });
});
