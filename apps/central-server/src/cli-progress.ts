/**
 * Progress of long admin commands, on standard error (standard output is the command's answer, which
 * a script may read). On by default when standard error is a terminal (one line rewritten in place,
 * at most 4 times a second); `--progress` turns it on anyway (a line every 2 seconds, for logs),
 * `--no-progress` off.
 */

export interface ProgressOptions {
  /** `--progress` (true) / `--no-progress` (false); unset: on when standard error is a terminal */
  readonly progress?: boolean;
}

export interface Progress {
  /** the current state; written at most at the progress rate */
  update(text: string): void;
  /** the last state, always written (when progress is on) */
  done(text: string): void;
}

export function startProgress(options: ProgressOptions, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  const tty = stream.isTTY === true;
  const enabled = options.progress ?? tty;
  const intervalMs = tty ? 250 : 2000;
  let last = now();
  let shown = false;
  const write = (text: string, final: boolean) => {
    if (tty) stream.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
    else stream.write(`${text}\n`);
    shown = true;
  };
  return {
    update(text) {
      if (!enabled || now() - last < intervalMs) return;
      last = now();
      write(text, false);
    },
    done(text) {
      if (enabled) write(text, true);
      else if (shown && tty) stream.write('\n');
    },
  };
}

/**
 * A single long request (a store move queues what changes for every site): after a second, the time
 * it has been waiting, once a second; when it answers, how long it took (only if something was shown).
 */
export async function whileWaiting<T>(label: string, options: ProgressOptions, answer: Promise<T>): Promise<T> {
  const progress = startProgress(options);
  const started = Date.now();
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    progress.update(`${label}: waiting for the central, ${Math.round((Date.now() - started) / 1000)} s`);
  }, 1000);
  try {
    return await answer;
  } finally {
    clearInterval(timer);
    if (ticks > 0) progress.done(`${label}: answered after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
