import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayStandIn, type GatewayStandIn } from './test-support/gateway-stand-in.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ACCOUNT_SID = 'AC' + '77'.repeat(16);
const AUTH_TOKEN = 'cli-token';
const TECHNICIAN = '+15555550177';

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@calltx/source', '--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let gateway: GatewayStandIn | undefined;
afterEach(() => gateway?.close());

describe('sim CLI', () => {
  it('plays the sample call against a gateway and reports without printing phone numbers', async () => {
    gateway = await startGatewayStandIn({ authToken: AUTH_TOKEN });
    const result = await runCli(
      [
        '--gateway',
        gateway.url,
        '--public-base-url',
        gateway.publicBaseUrl,
        '--calls',
        '2',
        '--speed',
        '0',
        '--to',
        TECHNICIAN,
        '--linger',
        '0',
      ],
      { TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/done: 2\/2 calls ok/);
    expect(result.stdout).not.toContain(TECHNICIAN);
    expect(gateway.streams).toHaveLength(2);
    expect(gateway.streams.every((s) => s.signatureValid)).toBe(true);
    expect(gateway.voiceRequests.map((r) => r.params['To'])).toEqual([TECHNICIAN, TECHNICIAN]);
  });

  it('refuses to run without Twilio credentials', async () => {
    const result = await runCli(['--linger', '0'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TWILIO_AUTH_TOKEN');
  });
});
