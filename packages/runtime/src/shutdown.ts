import type { Logger } from './log.js';

export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

export interface Shutdown {
  /** Steps run in registration order: stop intake first, then finish work, then close connections. */
  add(name: string, run: () => Promise<void>): void;
  /** Runs the steps once; later calls return the same promise. */
  run(reason: string): Promise<void>;
  /** Installs SIGTERM/SIGINT handlers that run the steps and exit. */
  installSignalHandlers(): void;
}

/**
 * Graceful shutdown with two timers: after `graceMs` the remaining steps are abandoned with an error log and the
 * process exits non-zero (the force timer), so a stuck dependency can't keep a pod Terminating forever.
 */
export function createShutdown({
  logger,
  graceMs,
  exit = (code) => process.exit(code),
}: {
  logger: Logger;
  graceMs: number;
  exit?: (code: number) => void;
}): Shutdown {
  const steps: ShutdownStep[] = [];
  let running: Promise<void> | undefined;

  const run = (reason: string): Promise<void> => {
    running ??= (async () => {
      logger.info({ reason, graceMs }, 'shutting down');
      for (const step of steps) {
        const started = Date.now();
        try {
          await step.run();
          logger.debug({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
        } catch (error) {
          logger.error({ err: error, step: step.name }, 'shutdown step failed');
        }
      }
    })();
    return running;
  };

  return {
    add(name, stepRun) {
      steps.push({ name, run: stepRun });
    },
    run,
    installSignalHandlers() {
      const onSignal = (signal: NodeJS.Signals) => {
        if (running) {
          logger.warn({ signal }, 'second signal, exiting now');
          exit(1);
          return;
        }
        const force = setTimeout(() => {
          logger.error({ graceMs }, 'graceful shutdown timed out, forcing exit');
          exit(1);
        }, graceMs);
        force.unref();
        void run(signal).then(() => {
          clearTimeout(force);
          logger.info('shutdown complete');
          exit(0);
        });
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    },
  };
}
