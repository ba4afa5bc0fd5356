/**
 * @module A progress line on stderr for long CLI runs: a bar when the total is known, a count when
 * not. Silent unless enabled (a TTY, or --progress).
 */

export interface Progress {
  update(done: number, total?: number): void;
  end(): void;
}

export function progress(label: string, enabled: boolean, write: (s: string) => void = (s) => process.stderr.write(s)): Progress {
  let last = 0;
  let shown = false;
  const render = (done: number, total?: number) => {
    shown = true;
    if (total && total > 0) {
      const frac = Math.min(1, done / total);
      const width = 30;
      const full = Math.round(frac * width);
      const bar = `${'#'.repeat(full)}${'.'.repeat(width - full)}`;
      write(`\r${label} [${bar}] ${Math.floor(frac * 100)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')}`);
    } else {
      write(`\r${label} ${done.toLocaleString('en')}`);
    }
  };
  return {
    update(done, total) {
      if (!enabled) return;
      const now = Date.now();
      // Why: redrawing on every page would flood a slow terminal.
      if (now - last < 100 && total !== done) return;
      last = now;
      render(done, total);
    },
    end() {
      if (enabled && shown) write('\n');
    },
  };
}
