/**
 * @module The page scripts embedded as strings (edge/pages/generated/client-assets.ts, made by
 * `npm run build:pages`): library mode's source, since the host Worker has no assets of Stepgate's.
 * The gateway never imports this module (page-scripts.ts).
 */
import { CLIENT_ASSETS } from './generated/client-assets';
import type { PageScripts } from './page-scripts';

export const embeddedPageScripts: PageScripts = async (file) => (Object.hasOwn(CLIENT_ASSETS, file) ? CLIENT_ASSETS[file]! : null);
