/** @module The static assets of Stepgate's pages (`/.stepgate/assets/:file`): the stylesheet and the bundled page scripts. */
import type { Hono } from 'hono';
import { ErrorCode } from '../../shared/errors';
import { problem, secure } from '../http/responses';
import { CLIENT_ASSETS } from '../pages/generated/client-assets';
import { STEPGATE_CSS } from '../pages/stepgate.css';

export function registerAssetRoutes(app: Hono): void {
  app.get('/.stepgate/assets/:file', (c) => {
    const file = c.req.param('file');
    const isCss = file === 'stepgate.css';
    const body = isCss ? STEPGATE_CSS : Object.hasOwn(CLIENT_ASSETS, file) ? CLIENT_ASSETS[file] : undefined;
    if (body === undefined) return problem(ErrorCode.NotFound, 404, 'No such asset.');
    const h = secure(
      new Headers({ 'content-type': isCss ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
    );
    return new Response(body, { headers: h });
  });
}
