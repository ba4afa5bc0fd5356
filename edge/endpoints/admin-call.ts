/**
 * @module The opening of an admin API route under /.stepgate/api/admin/orgs/:org: the request, the
 * organisation its path names, and the caller, checked by `requireAdminCaller` (admin-access.ts)
 * before the route reads anything else.
 */
import type { Context } from 'hono';
import type { Runtime } from '../deployment/runtime';
import { type AdminCaller, requireAdminCaller } from './admin-access';

/** The request of an admin route, its path's organisation, and its caller (`write`: a change, which needs a writing credential). */
export async function adminCall(rt: Runtime, c: Context, write: boolean): Promise<{ req: Request; org: string; caller: AdminCaller }> {
  const req = c.req.raw;
  const org = c.req.param('org') ?? '';
  return { req, org, caller: await requireAdminCaller(rt, req, org, { write }) };
}
