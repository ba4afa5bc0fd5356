/** @module The OpenAPI paths of factor recovery: started by one person, approved by another, cancelled by the person. */
import type { Paths } from './openapi-builders';

export const recoveryPaths: Paths = {};
