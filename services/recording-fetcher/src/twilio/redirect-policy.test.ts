import { describe, expect, it } from 'vitest';
import { RedirectPolicy } from './redirect-policy.js';

describe('RedirectPolicy', () => {
  const production = new RedirectPolicy('https://api.twilio.com', ['*.twilio.com', '*.twiliocdn.com']);

  it.each([
    ['the API origin', 'https://api.twilio.com/2010-04-01/x.wav'],
    ['a Twilio media host', 'https://media.twiliocdn.com/AC1/RE1?Expires=1&Signature=x'],
    ['a deeper subdomain', 'https://a.b.twiliocdn.com/x'],
  ])('allows %s', (_, url) => {
    expect(production.allows(new URL(url))).toBe(true);
  });

  it.each([
    ['another host', 'https://attacker.example/x'],
    ['a look-alike suffix', 'https://eviltwiliocdn.com/x'],
    ['a look-alike prefix', 'https://twiliocdn.com.attacker.example/x'],
    ['the bare domain of a wildcard', 'https://twiliocdn.com/x'],
    ['a downgrade to http', 'http://media.twiliocdn.com/x'],
    ['credentials in the URL', 'https://user:pass@media.twiliocdn.com/x'],
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['another scheme', 'file:///etc/passwd'],
  ])('refuses %s', (_, url) => {
    expect(production.allows(new URL(url))).toBe(false);
  });

  it('sends credentials only to the API origin', () => {
    expect(production.isApiOrigin(new URL('https://api.twilio.com/2010-04-01/x'))).toBe(true);
    expect(production.isApiOrigin(new URL('https://media.twiliocdn.com/x'))).toBe(false);
    expect(production.isApiOrigin(new URL('http://api.twilio.com/x'))).toBe(false);
  });

  it('allows plain http targets only when the API itself is plain http (a local simulator)', () => {
    const local = new RedirectPolicy('http://127.0.0.1:4010', ['localhost']);
    expect(local.allows(new URL('http://localhost:9000/x'))).toBe(true);
    expect(local.allows(new URL('http://127.0.0.1:9000/x'))).toBe(false);
  });
});
