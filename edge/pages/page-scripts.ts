/**
 * @module Where the scripts of Stepgate's own pages come from (`/.stepgate/assets/<name>.js`). The
 * gateway reads them from its Workers static assets (`ASSETS`, wrangler.toml's `[assets]`: the files
 * `npm run build:pages` writes to dist/page-scripts/), so they are not part of the Worker's script
 * and cost nothing at startup; library mode embeds them (embedded-page-scripts.ts), because the host
 * Worker has no assets of Stepgate's.
 */
import { PAGE_SCRIPT_NAMES } from './generated/page-script-names';

/** The text of a page script by file name, or null when there is no such script; `env` holds the Worker's bindings. */
export type PageScripts = (file: string, env: { ASSETS?: Fetcher }) => Promise<string | null>;

/**
 * The page scripts of the Workers static assets. Only the names the build made (`names`, generated
 * with the scripts) are ever asked of the binding, so however the assets answer other names, nothing
 * else is served; a script found is kept for the isolate's life (a deploy replaces isolate and assets
 * together). No binding (a gateway deployed without `[assets]`, which `stepgate doctor` refuses):
 * every script is missing, logged once, so the pages say they cannot load and the request path is
 * unaffected.
 */
export function pageScriptsFromAssets(names: readonly string[] = PAGE_SCRIPT_NAMES): PageScripts {
  const built = new Set(names);
  const found = new Map<string, string>();
  let warned = false;
  return async (file, env) => {
    if (!built.has(file)) return null;
    const known = found.get(file);
    if (known !== undefined) return known;
    if (!env.ASSETS) {
      if (!warned) console.error('stepgate: no ASSETS binding (wrangler.toml [assets]): the pages cannot load their scripts');
      warned = true;
      return null;
    }
    const res = await env.ASSETS.fetch(new Request(`https://page-scripts.invalid/${file}`));
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const text = await res.text();
    found.set(file, text);
    return text;
  };
}
