/**
 * @module foldCase: the one case folding of request paths and of policy patterns. Matching is
 * only sound while both sides fold identically, so there is exactly one definition.
 */

/** Case folding that also catches ſ→s, K→k, ı→i and İ→i (Java's equalsIgnoreCase), which some servers fold in case-insensitive compares. */
export const foldCase = (s: string): string => s.replaceAll('\u0130', 'i').toUpperCase().toLowerCase();
