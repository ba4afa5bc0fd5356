/**
 * @module The shapes on the wire between the edge and its clients (the approval page, the
 * extension): defined once here, produced by the edge and read by the clients.
 */

/** A readable summary of a request body, as the approval page and the extension show it. */
export interface BodySummary {
  /** "form", "json", or the media type. */
  kind: string;
  bytes: number;
  /** Fields in order, at most 12, values shown as the page will show them. */
  fields: { name: string; value: string }[];
  /** More fields than shown. */
  truncated: boolean;
}
