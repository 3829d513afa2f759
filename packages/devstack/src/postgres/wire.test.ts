import { describe, expect, it } from 'vitest';
import { FrontendMessageReader, ProtocolError, ReadyForQueryScanner, simpleQueryMessage } from './wire.js';

function readyForQuery(status: string): Buffer {
  return Buffer.from([0x5a, 0, 0, 0, 5, status.charCodeAt(0)]);
}

describe('ReadyForQueryScanner', () => {
  it('finds the status however the output is split', () => {
    // DataRow-like message whose body contains a 'Z' byte, then ReadyForQuery 'T'.
    const output = Buffer.concat([Buffer.from([0x44, 0, 0, 0, 7, 0x5a, 0x5a, 0x49]), readyForQuery('T')]);
    for (let cut = 0; cut <= output.length; cut += 1) {
      const scanner = new ReadyForQueryScanner();
      scanner.feed(output.subarray(0, cut));
      scanner.feed(output.subarray(cut));
      expect(scanner.lastStatus).toBe('T');
    }
  });

  it('reports null until a ReadyForQuery arrives after reset', () => {
    const scanner = new ReadyForQueryScanner();
    scanner.feed(readyForQuery('I'));
    scanner.reset();
    scanner.feed(Buffer.from([0x31, 0, 0, 0, 4])); // ParseComplete
    expect(scanner.lastStatus).toBeNull();
  });
});

describe('FrontendMessageReader', () => {
  it('frames SSL request, startup and typed messages split across chunks', () => {
    const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    const params = Buffer.from('user\0postgres\0\0');
    const startup = Buffer.alloc(8 + params.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4);
    params.copy(startup, 8);
    const query = Buffer.from(simpleQueryMessage('SELECT 1'));
    const all = Buffer.concat([ssl, startup, query]);

    const reader = new FrontendMessageReader();
    const kinds = [...all].flatMap((byte) => reader.push(Buffer.from([byte])).map((m) => m.kind));
    expect(kinds).toEqual(['encryption-request', 'startup', 'message']);
  });

  it('rejects an unknown protocol', () => {
    const reader = new FrontendMessageReader();
    expect(() => reader.push(Buffer.from([0, 0, 0, 8, 0, 2, 0, 0]))).toThrow(ProtocolError);
  });
});
