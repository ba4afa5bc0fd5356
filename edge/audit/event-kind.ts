/** @module What every audit event type declares: its summary and the OCSF class and activity it exports as. */

/** OCSF classes events export as (docs/audit.md, "OCSF"). */
export const OcsfClass = { Authentication: 3002, AccountChange: 3001, ApiActivity: 6003 } as const;
export type OcsfClassUid = (typeof OcsfClass)[keyof typeof OcsfClass];

export interface EventKind {
  /** What the event records, for docs/audit.md and the console. */
  summary: string;
  ocsf: OcsfClassUid;
  /** OCSF activity_id within the class. */
  activity: number;
}
