/** @module The OpenAPI paths of revoking a person's factors, grants and tokens, and listing people. */
import type { Paths } from './openapi-builders';

export const adminPeoplePaths: Paths = {};
