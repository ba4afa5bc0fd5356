/** @module The static assets of Stepgate's pages (`/.stepgate/assets/:file`): the stylesheet and the bundled page scripts. */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { problem, secure } from '../http/responses';
import type { PageScripts } from '../pages/page-scripts';
import { STEPGATE_CSS } from '../pages/stepgate.css';

/** Serve the stylesheet, and the page scripts from `pageScripts` (none without it). */
export function registerAssetRoutes(app: Hono, pageScripts: PageScripts | undefined): void {
  app.get('/.stepgate/assets/:file', async (c) => {
    const file = c.req.param('file');
    const isCss = file === 'stepgate.css';
    const body = isCss ? STEPGATE_CSS : pageScripts ? await pageScripts(file, c.env ?? {}) : null;
    if (body === null) return problem(ErrorCode.NotFound, 404, 'No such asset.');
    const h = secure(
      new Headers({ 'content-type': isCss ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
    );
    return new Response(body, { headers: h });
  });
}
