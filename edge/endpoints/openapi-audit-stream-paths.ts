/** @module The OpenAPI path of the audit stream: a Logpush-style pull with a resume cursor (docs/audit.md, "Archive and stream"). */
import { op, query, responses, str, type Paths } from './openapi-builders';

export const auditStreamPaths: Paths = {
  '/.stepgate/api/admin/audit/stream': {
    get: op(
      'The next events of the organisation after `cursor` (none: from the start), oldest first in chain order, reading ' +
        'archived segments (R2) and D1 alike; same readers as the export. Answers `{events, next_cursor, more, pruned_through?}`; ' +
        'the cursor is opaque and MACed: an edited one is refused (400), one made for another organisation too (403)',
      responses({ '200': '`{events: [{event, prev_hash, hash}], next_cursor, more, pruned_through?}`' }, 400, 401, 403, 500, 503),
      { parameters: [query('cursor', { ...str, maxLength: 512 }), query('limit', { type: 'integer', minimum: 1, maximum: 1000 })] },
    ),
  },
};
