/**
 * @module STEPGATE_VERSION: the version Stepgate reports (discovery document, OpenAPI, OCSF
 * exports); a test keeps it equal to package.json's.
 */
export const STEPGATE_VERSION = '0.1.0';
