import { randomBytes } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { CalltxError, type Subjects } from '@calltx/events';
import { whileJetStreamUnavailable } from '@calltx/nats';
import type { Logger } from '@calltx/runtime';

export class ClaimError extends CalltxError {}

export interface ClaimsOptions {
  nc: NatsConnection;
  /** KV bucket name: `claimsBucketName(subjects, service)` for a service's calls. */
  bucket: string;
  logger: Logger;
  /** Written as the value, for operators: who holds what. Defaults to a random id. */
  owner?: string;
  /** Bucket-level TTL: a claim not renewed for this long is free for another replica. */
  ttlMs?: number;
  /** Renewal period; TTL/3 by default, so two renewals may fail before the claim is lost. */
  renewEveryMs?: number;
  /** The bucket's replicas (NATS_STREAM_REPLICAS): with one, losing its server breaks every claim. */
  replicas?: number;
}

/** One claimed key, renewed in the background until released or lost. */
export interface Claim {
  readonly key: string;
  /** Aborted the moment the claim is lost (renewal refused, or not renewed within the TTL): stop work at once. */
  readonly signal: AbortSignal;
  /** True while the lease is known to be ours. */
  isHeld(): boolean;
  /** Deletes the key if it is still ours, and stops renewing. */
  release(): Promise<void>;
}

/** `<prefix>_CLAIMS_<service>` (KV bucket names allow letters, digits, `_` and `-`). */
export function claimsBucketName(subjects: Subjects, service: string): string {
  const name = `CLAIMS_${service.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return subjects.prefix ? `${subjects.prefix}_${name}` : name;
}

const isWrongSequence = (error: unknown) =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * Exclusive ownership of keys (CallSids) across replicas, on a JetStream KV bucket with a bucket-level TTL
 * (NATS 2.9 has no per-key TTL). `claim` is `kv.create`, which the server makes atomic; the holder renews with
 * `kv.update` at the revision it last wrote, so a lapsed claim that someone else took can never be renewed.
 *
 * A lease counts as held until `TTL - margin` after the start of its last successful write: the server can only
 * expire the entry TTL after it stored that write, so by the time another replica can create the key this one
 * has already given up (process clocks run at the same rate).
 */
export class CallClaims {
  readonly owner: string;
  readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly marginMs: number;
  private readonly held = new Map<string, HeldClaim>();

  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
    options: ClaimsOptions,
  ) {
    this.owner = options.owner ?? randomBytes(6).toString('hex');
    this.ttlMs = options.ttlMs ?? 30_000;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor(this.ttlMs / 3);
    this.marginMs = Math.min(1_000, Math.floor(this.ttlMs / 10));
  }

  /**
   * Opens (creating if needed) the bucket; an existing bucket gets this TTL and replica count. While JetStream
   * is unavailable (a leader election) it waits and retries instead of failing.
   */
  static async open(options: ClaimsOptions): Promise<CallClaims> {
    const ttlMs = options.ttlMs ?? 30_000;
    const replicas = options.replicas ?? 1;
    if (ttlMs < 1_000) throw new ClaimError('claim TTL must be at least 1 s');
    const kv = await whileJetStreamUnavailable(
      `claims bucket ${options.bucket}`,
      async () => {
        const kv = await new Kvm(options.nc).create(options.bucket, { ttl: ttlMs, history: 1, replicas });
        const status = await kv.status();
        if (status.ttl !== ttlMs || status.replicas !== replicas) {
          const jsm = await jetstreamManager(options.nc);
          const stream = `KV_${options.bucket}`;
          const info = await jsm.streams.info(stream);
          await jsm.streams.update(stream, { ...info.config, max_age: nanos(ttlMs), num_replicas: replicas });
        }
        return kv;
      },
      { logger: options.logger },
    );
    return new CallClaims(kv, options.logger, options);
  }

  /**
   * Claims `key` for one holder; null when it is held, by another replica or by another holder in this one (the
   * call's owner while a redaction or a recovery pass asks): a holder's release must never end another's hold.
   */
  async claim(key: string): Promise<Claim | null> {
    if (this.held.get(key)?.isHeld()) return null;
    const started = Date.now();
    let revision: number;
    try {
      revision = await this.kv.create(key, this.value());
    } catch (error) {
      if (isWrongSequence(error)) return null;
      throw new ClaimError(`could not claim ${key}`, { cause: error, retryable: true });
    }
    const claim = new HeldClaim(this, key, revision, started + this.ttlMs - this.marginMs);
    this.held.set(key, claim);
    claim.scheduleRenewal(this.renewEveryMs);
    return claim;
  }

  /** Whether any replica holds `key` right now (an expired claim has vanished from the bucket). */
  async isClaimed(key: string): Promise<boolean> {
    const entry = await this.kv.get(key);
    return entry !== null && entry.operation === 'PUT';
  }

  /** Every key held by any replica, in one round trip. */
  async claimedKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const key of await this.kv.keys()) keys.add(key);
    return keys;
  }

  /** The claim this replica holds on `key`, if it still does. */
  get(key: string): Claim | undefined {
    const claim = this.held.get(key);
    return claim?.isHeld() ? claim : undefined;
  }

  /** Keys this replica holds. */
  heldKeys(): string[] {
    return [...this.held.values()].filter((claim) => claim.isHeld()).map((claim) => claim.key);
  }

  async release(key: string): Promise<void> {
    await this.held.get(key)?.release();
  }

  /** Releases every claim (graceful shutdown: other replicas can take over at once, not after the TTL). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.values()].map((claim) => claim.release()));
  }

  /** Stops renewing without releasing: the claims lapse after the TTL (what a crash looks like, for tests). */
  abandonAll(): void {
    for (const claim of this.held.values()) claim.lose('abandoned');
  }

  /** @internal */
  value(): string {
    return JSON.stringify({ owner: this.owner, at: new Date().toISOString() });
  }

  /** @internal */
  async renew(claim: HeldClaim): Promise<void> {
    const started = Date.now();
    try {
      const revision = await this.kv.update(claim.key, this.value(), claim.revision, this.renewEveryMs);
      claim.renewed(revision, started + this.ttlMs - this.marginMs);
    } catch (error) {
      if (isWrongSequence(error)) {
        claim.lose('taken over or expired');
        return;
      }
      this.logger.warn({ err: error, key: claim.key }, 'claim renewal failed, retrying');
    }
  }

  /** @internal */
  async remove(claim: HeldClaim): Promise<void> {
    this.held.delete(claim.key);
    try {
      await this.kv.delete(claim.key, { previousSeq: claim.revision });
    } catch (error) {
      // Someone else's now, or already gone: either way not ours to delete.
      if (!isWrongSequence(error))
        this.logger.warn({ err: error, key: claim.key }, 'claim release failed; it lapses after the TTL');
    }
  }

  /** @internal */
  forget(claim: HeldClaim, reason: string): void {
    if (this.held.get(claim.key) === claim) this.held.delete(claim.key);
    this.logger.warn({ key: claim.key, reason }, 'claim lost');
  }
}

class HeldClaim implements Claim {
  private readonly controller = new AbortController();
  private renewTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private released = false;

  constructor(
    private readonly claims: CallClaims,
    readonly key: string,
    public revision: number,
    private validUntil: number,
  ) {
    this.armExpiry();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  isHeld(): boolean {
    return !this.released && !this.controller.signal.aborted && Date.now() < this.validUntil;
  }

  scheduleRenewal(everyMs: number): void {
    this.renewTimer = setTimeout(() => {
      if (!this.isHeld()) return;
      void this.claims.renew(this).finally(() => {
        if (this.isHeld()) this.scheduleRenewal(everyMs);
      });
    }, everyMs);
    this.renewTimer.unref();
  }

  renewed(revision: number, validUntil: number): void {
    if (!this.isHeld()) return;
    this.revision = revision;
    this.validUntil = validUntil;
    this.armExpiry();
  }

  lose(reason: string): void {
    if (this.released || this.controller.signal.aborted) return;
    this.stopTimers();
    this.controller.abort(new ClaimError(`claim on ${this.key} lost: ${reason}`));
    this.claims.forget(this, reason);
  }

  async release(): Promise<void> {
    if (this.released) return;
    const wasHeld = this.isHeld();
    this.released = true;
    this.stopTimers();
    if (wasHeld) await this.claims.remove(this);
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(
      () => this.lose('not renewed within the TTL'),
      Math.max(0, this.validUntil - Date.now()),
    );
    this.expiryTimer.unref();
  }

  private stopTimers(): void {
    clearTimeout(this.renewTimer);
    clearTimeout(this.expiryTimer);
  }
}
