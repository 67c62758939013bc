// Which parquet files of a Hugging Face dataset repository hold one config's split. The Hub's
// layouts, tried in this order:
//   <config>/<split>/*.parquet            refs/convert/parquet, and openslr/librispeech_asr
//                                          (all/test.clean/0000.parquet, clean/test/0000.parquet)
//   <config>/partial-<split>/*.parquet     refs/convert/parquet of a partially converted split
//   [<config>/]<split>-00000-of-00001.parquet, [<config>/]<split>.parquet
//                                          push_to_hub, with the config folder or `data/` for the default
//   any path where <split> is a whole folder name or a file-name word (`my-test-file.parquet`)
// Folders that name the config are required when a config is given; without one, a split found
// under several top-level folders is ambiguous and the error lists them.

import { QuantgateError } from '../common/errors.js';

export interface SplitQuery {
  config?: string;
  split: string;
}

/** The repository files (paths relative to the repo root) that hold the split, sorted by name. */
export function selectParquetFiles(repoFiles: readonly string[], { config, split }: SplitQuery): string[] {
  const parquet = repoFiles.filter((file) => file.toLowerCase().endsWith('.parquet')).sort(byCodePoint);
  if (parquet.length === 0)
    throw new QuantgateError(
      `the dataset repository has no parquet files; choose a dataset published as parquet, or a revision such as refs/convert/parquet`,
    );

  const inConfig =
    config === undefined
      ? parquet
      : parquet.filter((file) => file.startsWith(`${config}/`) || (config === 'default' && file.startsWith('data/')));
  const matched = [splitFolder, partialSplitFolder, splitFileName, splitWord]
    .map((rule) => inConfig.filter((file) => rule(file, split)))
    .find((files) => files.length > 0);
  if (!matched) {
    const where = config === undefined ? '' : ` of config "${config}"`;
    throw new QuantgateError(
      `no parquet files for split "${split}"${where} among ${describeFolders(parquet)}; set --dataset-config and --dataset-split to one of those`,
    );
  }
  if (config === undefined) {
    const tops = new Set(matched.map((file) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '')));
    const configs = [...tops].filter((top) => top !== '' && top !== 'data' && top !== split);
    if (configs.length > 1)
      throw new QuantgateError(
        `split "${split}" exists in configs ${configs.join(', ')}; set --dataset-config to one of them`,
      );
  }
  return matched;
}

function segments(file: string): string[] {
  return file.split('/');
}

function splitFolder(file: string, split: string): boolean {
  return segments(file).slice(0, -1).includes(split);
}

function partialSplitFolder(file: string, split: string): boolean {
  return segments(file).slice(0, -1).includes(`partial-${split}`);
}

function splitFileName(file: string, split: string): boolean {
  const name = segments(file).at(-1)!;
  return (
    name === `${split}.parquet` ||
    new RegExp(`^${escapeRegExp(split)}-\\d{5}-of-\\d{5}(-[0-9a-f]+)?\\.parquet$`).test(name)
  );
}

/** The Hub's fallback: the split name delimited by non-letters anywhere in the path. */
function splitWord(file: string, split: string): boolean {
  return new RegExp(`(^|[^a-zA-Z])${escapeRegExp(split)}($|[^a-zA-Z])`).test(file.slice(0, -'.parquet'.length));
}

function describeFolders(files: string[]): string {
  const folders = [
    ...new Set(files.map((file) => (file.includes('/') ? `${file.slice(0, file.lastIndexOf('/'))}/` : file))),
  ];
  const shown = folders.slice(0, 8).join(', ');
  return folders.length > 8 ? `${shown} and ${folders.length - 8} more` : shown;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
