import path from 'node:path';
import ts from 'typescript';
import { repoPath } from '../repo.js';
import type { ModelLocation } from './models.js';

export interface StrictCheckInput {
  label: string;
  location: ModelLocation;
  value: unknown;
}

/**
 * Unknown-field check, as `kubectl apply` does with its default `--validate=strict` (and as the API server
 * prunes unknown fields of custom resources). The models' JSON-schema validators accept unknown properties, so
 * each manifest is type-checked as an object literal against the model's TypeScript interface: excess-property
 * checks reject any field the API doesn't define, at every depth, and types are checked on the way. TypeScript
 * stops at the first error along one path, so a manifest with several mistakes shows them one fix at a time.
 */
export function checkUnknownFields(inputs: readonly StrictCheckInput[]): string[] {
  if (inputs.length === 0) return [];
  // A virtual file inside this package, so module resolution finds its node_modules.
  const fileName = repoPath('tools/deploy-check/src/__manifests__.ts');
  const lines: string[] = [];
  const lineToLabel: string[] = [];
  inputs.forEach((input, i) => {
    lines.push(
      `import type { I${input.location.kind} as T${i} } from ${JSON.stringify(input.location.module)};`,
    );
  });
  inputs.forEach((input, i) => {
    const literal = JSON.stringify(input.value, null, 1).split('\n');
    const start = lines.length;
    lines.push(`export const m${i}: T${i} = ${literal[0]}`, ...literal.slice(1));
    lines[lines.length - 1] += ';';
    for (let line = start; line < lines.length; line++) lineToLabel[line] = input.label;
  });
  const source = lines.join('\n');

  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => path.resolve(f) === fileName || fileExists(f);
  host.readFile = (f) => (path.resolve(f) === fileName ? source : readFile(f));
  host.getSourceFile = (f, language, onError, create) =>
    path.resolve(f) === fileName
      ? ts.createSourceFile(f, source, language)
      : getSourceFile(f, language, onError, create);

  const program = ts.createProgram([fileName], options, host);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) === fileName);
  return diagnostics.map((d) => {
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    return `${lineToLabel[line] ?? '(imports)'}: ${message.replace(/\s+/g, ' ')} [at "${lines[line]?.trim()}"]`;
  });
}
