// The tool's name and version, recorded in every GGUF and results file (kept equal to package.json
// by a test, so the bundled action needs no package.json at run time).

export const TOOL_NAME = 'quantgate';
export const TOOL_VERSION = '0.1.0';
