/**
 * @module `stepgate doctor`'s check of the page scripts' static assets (wrangler.toml's `[assets]`):
 * the gateway reads them through the ASSETS binding, behind the Worker (edge/pages/page-scripts.ts).
 */
import type { Unstable_Config } from 'wrangler';
import type { ProductionProblem } from '../../config/production-checks';

/** What is wrong with the configuration's `[assets]`, each with its fix; none when it is as shipped. */
export function assetsProblems(assets: Unstable_Config['assets']): ProductionProblem[] {
  if (!assets)
    return [
      {
        setting: 'assets',
        problem: 'no [assets]: the scripts of Stepgate’s pages are not deployed, so no step-up page can be answered',
        fix: 'add [assets] directory = "./dist/page-scripts", binding = "ASSETS", run_worker_first = true',
      },
    ];
  const problems: ProductionProblem[] = [];
  if (assets.binding !== 'ASSETS')
    problems.push({
      setting: 'assets.binding',
      problem: `is ${assets.binding ? `"${assets.binding}"` : 'not set'}: the gateway reads env.ASSETS`,
      fix: 'binding = "ASSETS"',
    });
  if (assets.run_worker_first !== true)
    problems.push({
      setting: 'assets.run_worker_first',
      problem: 'is not true: Cloudflare would serve the page scripts on every app path before the gateway runs',
      fix: 'run_worker_first = true',
    });
  if (assets.not_found_handling !== undefined && assets.not_found_handling !== 'none')
    problems.push({
      setting: 'assets.not_found_handling',
      problem: `is "${assets.not_found_handling}": a name that is not a page script would be answered with a file`,
      fix: 'remove it (the default, "none", answers 404)',
    });
  return problems;
}
