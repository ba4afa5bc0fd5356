/**
 * @module Child processes that do not outlive the process that started them (`npm start`, the
 * bench, the test helpers). Each child runs in its own process group (`detached`), so one
 * `process.kill(-pid)` reaches it and everything it started (wrangler's workerd, npx's node).
 *
 * The groups are stopped on every way out of this process: on SIGINT, SIGTERM or SIGHUP each gets
 * SIGTERM, a few seconds to exit, and then this process exits (130, 143, 129); on exit (normal, an
 * uncaught error, process.exit) whatever remains gets SIGKILL. Only SIGKILL of this process
 * escapes; a long-lived child can also watch a pipe from it (the bench's origin does).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const children = new Set<ChildProcess>();
let installed = false;
let caught: NodeJS.Signals | null = null;
const CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

const signalGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is gone */
  }
};

/** Resolves true when `child` has exited, false after `ms`. */
export const exited = (child: ChildProcess, ms: number): Promise<boolean> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(true)
    : new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });

function install(): void {
  if (installed) return;
  installed = true;
  // Synchronous by necessity: nothing can be awaited in an 'exit' handler.
  process.on('exit', () => {
    for (const child of children) signalGroup(child.pid, 'SIGKILL');
  });
  for (const signal of Object.keys(CODES) as (keyof typeof CODES)[]) {
    process.on(signal, () => {
      if (caught) process.exit(CODES[signal]); // a second Ctrl-C: no more waiting
      caught = signal;
      void Promise.all([...children].map((c) => stopGroup(c, 3000))).then(() => process.exit(CODES[signal]));
    });
  }
}

/** The signal that is stopping this process, if any (so a caller can exit with its code). */
export const stoppingFor = (): NodeJS.Signals | null => caught;

/** Spawn `cmd` as the leader of a new process group that is stopped when this process stops. */
export function spawnGroup(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  install();
  const child = spawn(cmd, args, { ...opts, detached: true });
  children.add(child);
  return child;
}

/**
 * Stop a group started by spawnGroup: SIGTERM to the whole group, up to `graceMs` for its leader
 * to exit, then SIGKILL to whatever is left in the group (a grandchild can outlive its parent).
 */
export async function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  signalGroup(child.pid, 'SIGTERM');
  await exited(child, graceMs);
  signalGroup(child.pid, 'SIGKILL');
  children.delete(child);
}
