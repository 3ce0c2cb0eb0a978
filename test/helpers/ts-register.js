// Lets a child process run the TypeScript sources directly (crash tests spawn real
// gateway processes): transpile-only, CommonJS, like ts-jest's isolatedModules.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true, sourceMap: false },
  });
  module._compile(out.outputText, filename);
};
