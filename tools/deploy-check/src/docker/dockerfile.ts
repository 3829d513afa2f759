import { readFileSync } from 'node:fs';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { DeployCheckError } from '../errors.js';
import { repoPath } from '../repo.js';

export interface Stage {
  name: string;
  /** The FROM image or parent stage, build arguments resolved to their defaults. */
  from: string;
  instructions: { keyword: string; args: string[]; text: string }[];
}

/** What a final image runs with, following FROM through parent stages. */
export interface ImageConfig {
  target: string;
  baseImage: string;
  user?: string;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck?: string;
  /** ENV of the image, parent stages' first. */
  env: Record<string, string>;
  copies: { from?: string; source: string; destination: string }[];
}

export function parseDockerfile(file: string): Stage[] {
  const dockerfile = DockerfileParser.parse(readFileSync(file, 'utf8'));
  const args = new Map(
    dockerfile.getInitialARGs().flatMap((arg) => {
      const property = arg.getProperty();
      const value = property?.getValue();
      return property && value !== null && value !== undefined ? [[property.getName(), value] as const] : [];
    }),
  );
  const resolve = (text: string) =>
    text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, name: string) => args.get(name) ?? m);
  return dockerfile.getFROMs().map((from, index, froms) => {
    const name = from.getBuildStage() ?? String(index);
    const start = from.getRange().start.line;
    const end = froms[index + 1]?.getRange().start.line ?? Number.MAX_SAFE_INTEGER;
    const instructions = dockerfile
      .getInstructions()
      .filter((i) => i.getRange().start.line > start && i.getRange().start.line < end)
      .map((i: Instruction) => ({
        keyword: i.getKeyword(),
        args: i.getArguments().map((a) => a.getValue()),
        text: i.getTextContent(),
      }));
    return { name, from: resolve(from.getArguments()[0]?.getValue() ?? ''), instructions };
  });
}

/** The configuration of the image built with --target `target`. */
export function imageConfig(stages: readonly Stage[], target: string): ImageConfig {
  const chain: Stage[] = [];
  for (
    let stage = stages.find((s) => s.name === target);
    stage;
    stage = stages.find((s) => s.name === stage!.from)
  ) {
    if (chain.includes(stage)) throw new DeployCheckError(`stage ${stage.name} inherits from itself`);
    chain.unshift(stage);
  }
  if (chain.length === 0) throw new DeployCheckError(`no stage named ${target}`);
  const config: ImageConfig = {
    target,
    baseImage: chain[0]!.from,
    workdir: '/',
    entrypoint: [],
    cmd: [],
    env: {},
    copies: [],
  };
  for (const stage of chain) {
    for (const { keyword, args, text } of stage.instructions) {
      if (keyword === 'USER') config.user = args[0];
      if (keyword === 'WORKDIR')
        config.workdir = args[0]!.startsWith('/') ? args[0]! : `${config.workdir}/${args[0]!}`;
      if (keyword === 'CMD') config.cmd = execForm(text, stage.name);
      if (keyword === 'ENTRYPOINT') {
        config.entrypoint = execForm(text, stage.name);
        config.cmd = [];
      }
      if (keyword === 'HEALTHCHECK') config.healthcheck = text;
      if (keyword === 'ENV') Object.assign(config.env, envPairs(args));
      if (keyword === 'COPY') {
        const from = /--from=(\S+)/.exec(text)?.[1];
        const paths = args.filter((a) => !a.startsWith('--'));
        config.copies.push({ ...(from ? { from } : {}), source: paths[0]!, destination: paths.at(-1)! });
      }
    }
  }
  return config;
}

/** `ENV A=1 B="two words"` (or the legacy `ENV A value`) as name → value. */
function envPairs(args: string[]): Record<string, string> {
  const unquote = (value: string) => value.replace(/^"(.*)"$/s, '$1');
  if (args.length === 2 && !args[0]!.includes('=')) return { [args[0]!]: unquote(args[1]!) };
  return Object.fromEntries(
    args.map((arg) => {
      const at = arg.indexOf('=');
      return [arg.slice(0, at), unquote(arg.slice(at + 1))];
    }),
  );
}

/** The configuration of the image the repository's Dockerfile builds with --target `target`. */
export function deployedImage(target: string): ImageConfig {
  return imageConfig(parseDockerfile(repoPath('deploy/docker/Dockerfile')), target);
}

/** CMD/ENTRYPOINT must be the JSON (exec) form: the shell form puts /bin/sh in front and SIGTERM never reaches node. */
function execForm(text: string, stage: string): string[] {
  const json = text.replace(/^\s*(CMD|ENTRYPOINT)\s+/i, '');
  try {
    const parsed = JSON.parse(json) as unknown;
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed as string[];
  } catch {
    // fall through
  }
  throw new DeployCheckError(`stage ${stage}: ${text.trim()} is not in exec (JSON array) form`);
}

/** Major version of an official node image tag (node:22-bookworm-slim → 22), undefined for anything else. */
export function nodeMajor(image: string): number | undefined {
  const match = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:[.-]|$)/.exec(image);
  return match ? Number(match[1]) : undefined;
}

/** `node [--flag …] <script> [args …]` → the flags and the script; undefined when the command is not node's. */
export function nodeCommand(command: readonly string[]): { flags: string[]; script: string } | undefined {
  if (command[0] !== 'node') return undefined;
  const at = command.findIndex((arg, i) => i > 0 && !arg.startsWith('-'));
  return at < 0 ? undefined : { flags: command.slice(1, at), script: command[at]! };
}
