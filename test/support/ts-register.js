/**
 * `node -r ./test/support/ts-register.js some.ts`: runs the repository's
 * TypeScript in a real child process (the multi-worker test forks the sample
 * app, and cluster workers inherit this flag), without a prior build.
 * Each file is transpiled alone, as ts-jest does here (isolatedModules), with
 * the decorator metadata Nest's injection needs.
 */
'use strict';
const fs = require('fs');
const ts = require('typescript');

const path = require('path');

// The options the tests compile with (tsconfig.spec.json), source maps inline for stack traces.
const root = path.resolve(__dirname, '..', '..');
const configFile = path.join(root, 'tsconfig.spec.json');
const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root, undefined, configFile);
const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: true, inlineSources: false, declaration: false, noEmit: false };

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
