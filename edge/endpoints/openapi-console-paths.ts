/** @module The OpenAPI paths of the admin console pages and the dashboard. */
import type { Paths } from './openapi-builders';

export const consolePaths: Paths = {};
