// Bundles the GitHub Action into an ES module, dist/index.js (or `<out dir>/index.js` when a folder
// is given: `node scripts/bundle.mjs [out dir]`), with the parquet reader's child process beside it
// (parquet-child.js), so that the action runs from a plain checkout
// with no `npm install`. Everything is bundled except onnxruntime-node, whose native binaries the
// action installs at run time (src/runtime/): every import of the package resolves to
// the stand-in module that the installed package is bound to. The output is deterministic (no
// timestamps, paths relative to the repository), so the check-dist workflow can compare it.
// Beside it, dist/licenses.txt lists every package bundled, with its version, license and license
// text, as the licenses of what a release redistributes.

import { build } from 'esbuild';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'dist'));
const standIn = join(root, 'src', 'runtime', 'stand-in.ts');

/**
 * Every import of onnxruntime-node, static or dynamic, becomes the stand-in. Its files and
 * onnxruntime-common would be bundled as second copies, apart from the package installed at run
 * time, so importing them is an error.
 */
const onnxruntimeStandIn = {
  name: 'onnxruntime-stand-in',
  setup(bundle) {
    bundle.onResolve({ filter: /^onnxruntime-node$/ }, () => ({ path: standIn }));
    bundle.onResolve({ filter: /^onnxruntime-(node\/|common($|\/))/ }, (args) => ({
      errors: [
        {
          text: `${args.path} (imported by ${args.importer}) cannot be bundled: the action installs onnxruntime-node at run time; import 'onnxruntime-node' itself`,
        },
      ],
    }));
  },
};

await mkdir(outDir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  // The parquet reader's child process runs its own entry, which the main bundle finds beside it.
  entryPoints: {
    index: join(root, 'src', 'action', 'main.ts'),
    'parquet-child': join(root, 'src', 'datasets', 'parquet-child.ts'),
  },
  outdir: outDir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Bundled CommonJS dependencies call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __quantgateCreateRequire } from 'node:module';\nconst require = __quantgateCreateRequire(import.meta.url);",
  },
  plugins: [onnxruntimeStandIn],
  logLevel: 'warning',
  metafile: true,
});
// The output is an ES module wherever the folder lies (a temp folder in the tests, too).
await writeFile(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);

await writeFile(join(outDir, 'licenses.txt'), await licenseInventory(Object.keys(result.metafile.inputs)));

const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(
  `bundled ${Object.keys(result.metafile.inputs).length} modules into ${join(outDir, 'index.js')} (${(bytes / 2 ** 20).toFixed(1)} MiB)`,
);

/** The packages whose files `inputs` (paths relative to the repository) come from, with their licenses. */
async function licenseInventory(inputs) {
  const packageDirs = new Set();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packageDirs.add(match[1]);
  }
  const entries = [];
  for (const dir of packageDirs) {
    const manifest = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8'));
    const licenseFile = (await readdir(join(root, dir))).sort().find((name) => /^(licen[cs]e|copying)/i.test(name));
    const text = licenseFile
      ? (await readFile(join(root, dir, licenseFile), 'utf8')).trim()
      : `(no license file in the package; its package.json says ${manifest.license ?? 'nothing'})`;
    entries.push({ name: manifest.name, version: manifest.version, license: manifest.license ?? 'UNKNOWN', text });
  }
  // One entry per package and version, even where npm installed a copy in two places.
  const unique = [...new Map(entries.map((entry) => [`${entry.name}@${entry.version}`, entry])).values()];
  unique.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : 1));
  const header = `The packages bundled into dist/index.js, written by scripts/bundle.mjs: ${unique.length} packages.\n`;
  return `${header}${unique.map(({ name, version, license, text }) => `\n${'='.repeat(78)}\n${name}@${version} (${license})\n${'='.repeat(78)}\n${text}\n`).join('')}`;
}
