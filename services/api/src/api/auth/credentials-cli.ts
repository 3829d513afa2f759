/**
 * `pnpm credentials …`: makes the values the API's configuration holds, so nobody hand-rolls a hash.
 *
 *   pnpm credentials api-key <name> [scope …]   a new API key (shown once) and its API_KEYS entry
 *   pnpm credentials agent <identity>           a CONSOLE_AGENTS entry; the password is read from stdin
 *   pnpm credentials jwt-secret                 a random API_JWT_SECRET
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { SCOPES, generateApiKey, hashApiKey, hashPassword, isScope } from './credentials.js';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let input = '';
    for await (const chunk of process.stdin) input += String(chunk);
    return input.replace(/\r?\n$/, '');
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  process.stdout.write('Password: ');
  // Typed characters are not echoed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  const password = await rl.question('');
  rl.close();
  process.stdout.write('\n');
  return password;
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const [command, name, ...rest] = process.argv.slice(2);
switch (command) {
  case 'api-key': {
    if (!name || !NAME.test(name))
      fail('usage: credentials api-key <name> [scope …]  (name: letters, digits, _ . -)');
    const unknown = rest.filter((scope) => !isScope(scope));
    if (unknown.length > 0) fail(`unknown scopes ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
    const key = generateApiKey();
    console.log(`API key for ${name} (give it to its owner; it is not stored anywhere):\n  ${key}`);
    console.log(
      `Add to API_KEYS (comma-separated):\n  ${name}:${hashApiKey(key)}${rest.length ? `:${rest.join(' ')}` : ''}`,
    );
    break;
  }
  case 'agent': {
    if (!name || !NAME.test(name)) fail('usage: credentials agent <identity>  (password on stdin)');
    const password = await readPassword();
    if (password.length < 12) fail('the password must have at least 12 characters');
    console.log(`Add to CONSOLE_AGENTS (comma-separated):\n  ${name}:${await hashPassword(password)}`);
    break;
  }
  case 'jwt-secret':
    console.log(`API_JWT_SECRET=${randomBytes(48).toString('base64url')}`);
    break;
  default:
    fail('usage: credentials api-key <name> [scope …] | agent <identity> | jwt-secret');
}
