/** @module runCli: the `stepgate` command run in-process, its standard output and error collected, for the CLI tests. */
import { main } from '../../edge/node/cli/main';

/** What one run of the CLI printed and returned. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Run `stepgate ...argv` with `env` as its environment (an empty one unless a test needs more). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (l) => out.push(l),
    (l) => err.push(l),
    env,
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}
