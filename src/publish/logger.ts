// Where the publish stage tells what it did and what it skipped: the action passes @actions/core's
// info and notice (a notice shows on the run's summary page), the CLI writes lines on stderr.

export interface PublishLogger {
  info(message: string): void;
  /** Something the user should see without it being a failure, e.g. a skipped PR comment. */
  notice(message: string): void;
}

export const silentLogger: PublishLogger = { info: () => undefined, notice: () => undefined };
