// The action's entry point, bundled into dist/index.js: runs the action in the runner's environment.

import { runAction } from './action.js';

await runAction();
