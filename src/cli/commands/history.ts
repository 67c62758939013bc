// `quantgate history`: reads a gate history file (the JSON Lines the action keeps on its data branch
// or in the Actions cache) and prints its runs as a table, or draws the WER and size charts as one
// SVG for a README or a release.

import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../common/atomic.js';
import { QuantgateError, describeError } from '../../common/errors.js';
import { numberOption, requiredString, stringOption, type OptionValues } from '../../common/option-values.js';
import { historyCharts, parseHistory } from '../../publish/history.js';
import { svgChart } from '../../report/charts.js';
import { renderHistoryTable } from '../../report/history-report.js';
import { EXIT_OK, type Command, type CommandContext } from '../command.js';

const DEFAULT_LAST = 20;

export const historyCommand: Command = {
  usage: `
usage: quantgate history --file <history.jsonl> [--last <n>] [--svg <out.svg>] [--chart wer|size]

Prints the runs recorded in a history file, oldest first: time, commit, the model revision, both
WERs, ΔWER with its interval, the quantized size and the device. With --svg, draws the chart instead.

  --file <history.jsonl>  the history file (one JSON record a line, as the action writes it)
  --last <n>              only the last n runs (default ${DEFAULT_LAST})
  --svg <out.svg>         write the chart of those runs as an SVG file instead of printing the table
  --chart <which>         with --svg: wer (candidate and reference WER, the default) or size

Exit status: 0 printed or written, 2 an error.
`,
  options: {
    file: { type: 'string' },
    last: { type: 'string' },
    svg: { type: 'string' },
    chart: { type: 'string' },
  },
  run: runHistory,
};

async function runHistory(values: OptionValues, _positionals: string[], context: CommandContext): Promise<number> {
  const path = requiredString(values, 'file');
  const last = numberOption(values, 'last', { integer: true, min: 1 }) ?? DEFAULT_LAST;
  const svg = stringOption(values, 'svg');
  const chart = stringOption(values, 'chart');
  if (chart !== undefined && chart !== 'wer' && chart !== 'size')
    throw new QuantgateError(`--chart must be wer or size, got "${chart}"`);
  if (chart !== undefined && svg === undefined)
    throw new QuantgateError('--chart picks the chart --svg draws; give --svg <out.svg> with it');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new QuantgateError(`cannot read the history file ${path} (${describeError(error)}); give a history .jsonl`, {
      cause: error,
    });
  }
  const records = parseHistory(text, path).slice(-last);
  if (records.length === 0) throw new QuantgateError(`${path} holds no runs yet; nothing to show`);
  if (svg === undefined) {
    context.stdout.write(renderHistoryTable(records));
    return EXIT_OK;
  }
  await writeFileAtomic(svg, svgChart(historyCharts(records, last)[chart === 'size' ? 'size' : 'wer']));
  context.stdout.write(`wrote ${svg}: ${records.length} runs\n`);
  return EXIT_OK;
}
