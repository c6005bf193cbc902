/**
 * Lets a child process run the repository's TypeScript directly
 * (`node -r ./test/support/ts-require.js script.ts`): each .ts file is
 * transpiled on load with the project's decorator settings. Used by the tests
 * that need a real server process they can kill -9; no type checking here
 * (`tsc` does that for the whole repository).
 */
const fs = require('fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  useDefineForClassFields: false,
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
