import { StopControl, StoppedError } from '../../src/common/stop.js';

describe("a run's stop request", () => {
  test('names the signal and the stage that was running when it came', () => {
    const stop = new StopControl('quantize');
    stop.enter('transcribe');
    expect(stop.signal.aborted).toBe(false);
    stop.request('SIGTERM');
    stop.enter('score');
    expect(stop.signal.aborted).toBe(true);
    const reason = stop.signal.reason as StoppedError;
    expect(reason).toBeInstanceOf(StoppedError);
    expect(reason.exitCode).toBe(143);
    expect(reason.line('quantgate run')).toBe(
      'quantgate run: stopped by SIGTERM during the transcribe stage; no partial file was left behind',
    );
    expect(stop.stopped).toBe(reason);
  });

  test('SIGINT exits with 130, and a second request changes nothing', () => {
    const stop = new StopControl('download');
    stop.request('SIGINT');
    stop.request('SIGTERM');
    expect(stop.stopped?.exitCode).toBe(130);
    expect(stop.stopped?.message).toBe('stopped by SIGINT during the download stage');
  });

  test('a stage does not start once the run was stopped', async () => {
    const stop = new StopControl();
    stop.request('SIGTERM');
    let ran = false;
    await expect(stop.during('publish', async () => (ran = true))).rejects.toBeInstanceOf(StoppedError);
    expect(ran).toBe(false);
  });
});
