// One utterance as the datasets stage yields it: mono float32 audio at the rate the engine asked
// for, with its reference transcript. Scoring never sees audio; engines never see `text`.

export interface Utterance {
  id: string;
  audio: Float32Array;
  sampleRate: number;
  text: string;
}

/** An utterance whose audio could not be read; the run counts these against --max-failed-utterances. */
export interface FailedUtterance {
  id: string;
  error: string;
}
