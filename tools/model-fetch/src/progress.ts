import type { Progress } from './download-file.js';

const MB = 1024 * 1024;

/**
 * Renders download progress on a stream: one rewritten line on a terminal, otherwise a line at each
 * quarter so logs stay short.
 */
export function progressPrinter(
  out: NodeJS.WriteStream,
  now: () => number = Date.now,
): (p: Progress) => void {
  let file = '';
  let started = 0;
  let lastDraw = 0;
  let lastQuarter = -1;
  return ({ file: name, received, total }) => {
    const time = now();
    if (name !== file) {
      file = name;
      started = time;
      lastQuarter = -1;
    }
    const done = received >= total;
    const fraction = total === 0 ? 1 : received / total;
    const seconds = Math.max(0.001, (time - started) / 1000);
    const line = `${name}  ${(received / MB).toFixed(1)}/${(total / MB).toFixed(1)} MB  ${Math.floor(fraction * 100)}%  ${(received / MB / seconds).toFixed(1)} MB/s`;
    if (out.isTTY) {
      if (!done && time - lastDraw < 200) return;
      lastDraw = time;
      out.write(`\r\x1b[K${line}${done ? '\n' : ''}`);
      return;
    }
    const quarter = Math.floor(fraction * 4);
    if (quarter === lastQuarter) return;
    lastQuarter = quarter;
    out.write(`${line}\n`);
  };
}
