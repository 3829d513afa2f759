import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { TransactionArbiter } from './transaction-arbiter.js';
import {
  FrontendMessageReader,
  ReadyForQueryScanner,
  TERMINATE,
  fatalErrorMessage,
  simpleQueryMessage,
  syncMessage,
} from './wire.js';

export interface PgliteWireServerOptions {
  db: PGlite;
  host?: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** How long a connection may wait for another one's transaction before it is failed (breaks deadlocks). */
  lockWaitTimeoutMs?: number;
}

/**
 * Serves one PGlite database to any number of Postgres wire-protocol clients.
 *
 * Why not `PGLiteSocketServer` from @electric-sql/pglite-socket 0.2.17: with its default `maxConnections: 1`
 * a second connection is dropped; with more connections it interleaves clients *per protocol message*, so a
 * pg client's Parse/Bind/Execute/Sync batch gets mixed with another client's ("portal "" does not exist") and
 * concurrent transactions from three pg Pools hung. Here a connection owns the backend from its first message
 * until the backend reports idle (see TransactionArbiter), so statements and transactions never interleave.
 *
 * Still one backend: session state (SET, named prepared statements, temp tables, session advisory locks) is
 * shared by all connections, and a connection that holds a transaction open blocks all others.
 */
export class PgliteWireServer {
  private readonly arbiter = new TransactionArbiter<ClientSession>();
  private readonly sessions = new Set<ClientSession>();
  private readonly server: Server;

  constructor(private readonly options: PgliteWireServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Starts listening; returns the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.sessions].map((session) => session.destroy()));
    await closed;
  }

  private accept(socket: Socket): void {
    const session = new ClientSession(
      socket,
      this.options.db,
      this.arbiter,
      this.options.lockWaitTimeoutMs ?? 30_000,
    );
    this.sessions.add(session);
    void session.finished.then(() => this.sessions.delete(session));
  }
}

class ClientSession {
  private readonly reader = new FrontendMessageReader();
  private readonly scanner = new ReadyForQueryScanner();
  private readonly pending: Uint8Array[] = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  readonly finished: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly db: PGlite,
    private readonly arbiter: TransactionArbiter<ClientSession>,
    private readonly lockWaitTimeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
    // A failed clean-up has nobody to report to: the client is gone and the next statement will show it.
    this.finished = new Promise((resolve) =>
      socket.once('close', () => resolve(this.cleanUp().catch(() => {}))),
    );
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.finished;
  }

  private receive(chunk: Buffer): void {
    let messages;
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      this.fail('08P01', (error as Error).message);
      return;
    }
    for (const message of messages) {
      switch (message.kind) {
        case 'encryption-request':
          this.socket.write('N'); // no TLS: the client goes on in plain text
          break;
        case 'cancel-request':
          this.socket.end(); // PGlite has no separate backend to interrupt
          break;
        default:
          // Terminate is not passed on: it is this connection that ends, not the shared backend.
          if (message.kind === 'message' && message.type === TERMINATE) this.socket.end();
          else this.pending.push(message.bytes);
      }
    }
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.closed) {
        await this.arbiter.acquire(this, this.lockWaitTimeoutMs);
        await this.execute(this.pending.shift()!, true);
        // Idle again: let the next connection in, even if this one has more pipelined work.
        if (this.scanner.lastStatus === 'I') this.arbiter.release(this);
      }
    } catch (error) {
      this.fail('55P03', `embedded postgres: ${(error as Error).message}`);
    }
  }

  private async execute(message: Uint8Array, forward: boolean): Promise<void> {
    this.scanner.reset();
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(message, {
        onRawData: (data) => {
          this.scanner.feed(data);
          if (forward && !this.closed) this.socket.write(Buffer.from(data));
        },
      }),
    );
  }

  private fail(sqlState: string, text: string): void {
    if (this.closed) return;
    if (this.socket.writable) this.socket.end(fatalErrorMessage(sqlState, text));
    else this.socket.destroy();
  }

  /** The connection is gone: leave the shared backend idle for the others. */
  private async cleanUp(): Promise<void> {
    this.closed = true;
    this.pending.length = 0;
    this.arbiter.forget(this, new Error('connection closed'));
    await this.draining;
    if (!this.arbiter.isOwner(this)) return;
    try {
      await this.execute(syncMessage(), false); // ends a half-sent extended-protocol batch
      if (this.scanner.lastStatus !== 'I') await this.execute(simpleQueryMessage('ROLLBACK'), false);
    } finally {
      this.arbiter.release(this);
    }
  }
}
