/**
 * @module DEV_EXTENSION_ID: the fixed id of the extension's development build (its manifest carries
 * a public key). The extension's manifest declares it; the edge's production checks refuse it.
 */
export const DEV_EXTENSION_ID = 'leldacdejfbkleoogdbophfdkoapmfbd';
