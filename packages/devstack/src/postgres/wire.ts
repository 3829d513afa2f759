/**
 * Just enough of the Postgres wire protocol (v3) to frame client messages and to notice when the
 * backend is ready for the next query. Everything else is passed to PGlite untouched.
 */

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;
const CANCEL_REQUEST_CODE = 80877102;
const PROTOCOL_VERSION_3 = 196608;
/** Guards against a garbage length making us buffer without bound. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export const TERMINATE = 'X'.charCodeAt(0);
const READY_FOR_QUERY = 'Z'.charCodeAt(0);

export type FrontendMessage =
  /** SSLRequest or GSSENCRequest: answered with 'N' (not supported) by the server itself. */
  | { kind: 'encryption-request' }
  | { kind: 'cancel-request' }
  | { kind: 'startup'; bytes: Uint8Array }
  | { kind: 'message'; type: number; bytes: Uint8Array };

export class ProtocolError extends Error {}

/** Splits a client's byte stream into whole frontend messages. */
export class FrontendMessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  private startupDone = false;

  push(chunk: Buffer): FrontendMessage[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const messages: FrontendMessage[] = [];
    for (let message = this.next(); message; message = this.next()) messages.push(message);
    return messages;
  }

  private next(): FrontendMessage | undefined {
    return this.startupDone ? this.nextTyped() : this.nextUntyped();
  }

  private nextUntyped(): FrontendMessage | undefined {
    if (this.buffer.length < 8) return undefined;
    const length = this.buffer.readInt32BE(0);
    if (length < 8 || length > MAX_MESSAGE_BYTES) throw new ProtocolError(`bad startup length ${length}`);
    if (this.buffer.length < length) return undefined;
    const code = this.buffer.readInt32BE(4);
    const bytes = this.take(length);
    switch (code) {
      case SSL_REQUEST_CODE:
      case GSSENC_REQUEST_CODE:
        return { kind: 'encryption-request' };
      case CANCEL_REQUEST_CODE:
        return { kind: 'cancel-request' };
      case PROTOCOL_VERSION_3:
        this.startupDone = true;
        return { kind: 'startup', bytes };
      default:
        throw new ProtocolError(`unsupported protocol code ${code}`);
    }
  }

  private nextTyped(): FrontendMessage | undefined {
    if (this.buffer.length < 5) return undefined;
    const length = this.buffer.readInt32BE(1);
    if (length < 4 || length > MAX_MESSAGE_BYTES) throw new ProtocolError(`bad message length ${length}`);
    if (this.buffer.length < 1 + length) return undefined;
    const type = this.buffer[0]!;
    return { kind: 'message', type, bytes: this.take(1 + length) };
  }

  private take(length: number): Uint8Array {
    // Copy: PGlite may hold on to the bytes, and the buffer is reused for what follows.
    const bytes = new Uint8Array(this.buffer.subarray(0, length));
    this.buffer = this.buffer.subarray(length);
    return bytes;
  }
}

/**
 * Follows the backend's output stream (which may be split anywhere) and records the transaction status
 * of each ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' in a failed transaction.
 */
export class ReadyForQueryScanner {
  private header: number[] = [];
  private bodyRemaining = 0;
  private currentType = 0;
  /** Status of the last ReadyForQuery seen since the last `reset()`, or null if none. */
  lastStatus: string | null = null;

  reset(): void {
    this.lastStatus = null;
  }

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyRemaining > 0) {
        const n = Math.min(this.bodyRemaining, chunk.length - i);
        i += n;
        this.bodyRemaining -= n;
        if (this.bodyRemaining === 0 && this.currentType === READY_FOR_QUERY) {
          this.lastStatus = String.fromCharCode(chunk[i - 1]!);
        }
        continue;
      }
      this.header.push(chunk[i]!);
      i += 1;
      if (this.header.length === 5) {
        const [type, b1, b2, b3, b4] = this.header as [number, number, number, number, number];
        this.currentType = type;
        this.bodyRemaining = ((b1 << 24) | (b2 << 16) | (b3 << 8) | b4) - 4;
        this.header = [];
      }
    }
  }
}

export function simpleQueryMessage(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const message = Buffer.alloc(5 + text.length);
  message.write('Q', 0, 'latin1');
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return message;
}

export function syncMessage(): Uint8Array {
  return Uint8Array.from([0x53, 0, 0, 0, 4]);
}

/** A FATAL ErrorResponse, after which the server closes the connection. */
export function fatalErrorMessage(sqlState: string, text: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlState}\0M${text}\0\0`, 'utf8');
  const message = Buffer.alloc(5 + fields.length);
  message.write('E', 0, 'latin1');
  message.writeInt32BE(4 + fields.length, 1);
  fields.copy(message, 5);
  return message;
}
