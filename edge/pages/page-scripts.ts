/**
 * @module Where the scripts of Stepgate's own pages come from (`/.stepgate/assets/<name>.js`). The
 * gateway reads them from its Workers static assets (`ASSETS`, wrangler.toml's `[assets]`: the files
 * `npm run build:pages` writes to dist/page-scripts/), so they are not part of the Worker's script
 * and cost nothing at startup; library mode embeds them (embedded-page-scripts.ts), because the host
 * Worker has no assets of Stepgate's.
 */
/** The text of a page script by file name, or null when there is no such script; `env` holds the Worker's bindings. */
export type PageScripts = (file: string, env: { ASSETS?: Fetcher }) => Promise<string | null>;

/** A page script's file name as the build names them: the only names ever asked of the binding. */
const SCRIPT_NAME = /^[a-z0-9][a-z0-9-]{0,63}\.js$/;

/**
 * The page scripts of the Workers static assets. A script found is kept for the isolate's life (a
 * deploy replaces isolate and assets together; at most the build's few files, since only names of
 * existing files are kept). No binding (a gateway deployed without `[assets]`): every script is
 * missing, so the pages say they cannot load, and the request path is unaffected.
 */
export function pageScriptsFromAssets(): PageScripts {
  const found = new Map<string, string>();
  return async (file, env) => {
    if (!SCRIPT_NAME.test(file)) return null;
    const known = found.get(file);
    if (known !== undefined) return known;
    if (!env.ASSETS) return null;
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
