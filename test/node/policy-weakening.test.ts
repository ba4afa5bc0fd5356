/**
 * The weakening classifier (edge/policy/weakening.ts) decides whether a new policy version needs a
 * second admin. Each rule of docs/policy.md "What counts as weakening" is tried here, with its inverse.
 */
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../edge/policy/schema';
import { classifyChange } from '../../edge/policy/weakening';
import { base, doc, type Edit, edited, r0, r1, rule, verdict } from './policy-weakening-fixtures';

describe('classifyChange: each weakening and its inverse', () => {
  const cases: [string, Edit, RegExp][] = [
    ['a rule removed', (q) => void q.rules.shift(), /"delete-project" was removed: DELETE \/api\/projects\/\* on app.example.com/],
    [
      'fewer methods',
      (q) => {
        r1(q).match.methods = ['POST'];
      },
      /no longer covers DELETE/,
    ],
    [
      'methods from every one to some',
      (q) => {
        q.rules[2]!.match.methods = ['GET'];
      },
      /covered every method and now covers only GET, HEAD/,
    ],
    [
      'a narrower path',
      (q) => {
        r1(q).match.path = '/admin/users/**';
      },
      /may no longer be covered/,
    ],
    [
      'a host named where any host was',
      (q) => {
        r1(q).match.host = 'app.example.com';
      },
      /hosts it covered/,
    ],
    [
      'a host dropped from a rule',
      (q) => {
        r0(q).match.host = 'app.example.com';
      },
      /hosts it covered/,
    ],
    [
      'totp accepted where only webauthn was',
      (q) => {
        r0(q).require.factors = ['webauthn', 'totp'];
      },
      /also accepts totp, so it is no longer phishing-resistant/,
    ],
    [
      'recovery added',
      (q) => {
        r1(q).require.factors = ['webauthn', 'totp', 'recovery'];
      },
      /also accepts recovery\.$/,
    ],
    [
      'maxAge raised',
      (q) => {
        r0(q).require.maxAge = '1h';
      },
      /maxAge goes from "5m" to "1h"/,
    ],
    [
      'action relaxed to session',
      (q) => {
        r0(q).require.bind = 'session';
      },
      /from "action" to "session": one step-up now covers/,
    ],
    [
      'enforce → report',
      (q) => {
        r0(q).mode = 'report';
      },
      /from "enforce" to "report"/,
    ],
    [
      'case-sensitive matching',
      (q) => {
        q.caseSensitive = true;
      },
      /another case/,
    ],
    [
      'path info allowed',
      (q) => {
        q.allowPathInfo = true;
      },
      /script name/,
    ],
    [
      'enrolment invite → first-use',
      (q) => {
        q.enrolment = 'first-use';
      },
      /without an invitation/,
    ],
    [
      'maxInspectBytes raised',
      (q) => {
        q.maxInspectBytes = 4 * 1048576;
      },
      /larger bodies/,
    ],
  ];
  const start = edited(base, (q) => {
    q.hosts = ['app.example.com', 'b.example.com'];
    q.enrolment = 'invite';
    q.rules.push(rule('reports', '/reports/**', {}, { bind: 'session' }));
    r0(q).match.host = ['app.example.com', 'b.example.com'];
  });
  it.each(cases)('%s weakens, and the way back does not', (_name, edit, why) => {
    const after = edited(start, edit);
    const c = classifyChange(start, after);
    expect(c.weakens).toBe(true);
    expect(c.changes.filter((x) => x.kind === 'weakens').map((x) => x.message)).toContainEqual(expect.stringMatching(why));
    expect(classifyChange(after, start).weakens).toBe(false);
  });

  it.each([
    [
      'an unknown document field',
      (q: Record<string, unknown>) => {
        q.newThing = 1;
      },
    ],
    [
      'an unknown rule field',
      (q: Policy) => {
        (r0(q) as Record<string, unknown>).priority = 'low';
      },
    ],
    [
      'an unknown require field',
      (q: Policy) => {
        (r0(q).require as Record<string, unknown>).via = 'sms';
      },
    ],
    [
      'a mode this version does not know',
      (q: Policy) => {
        (r0(q) as Record<string, unknown>).mode = 'shadow';
      },
    ],
    [
      'the served hosts (a host dropped may be claimed elsewhere; one added reaches the origin)',
      (q: Policy) => {
        q.hosts = ['app.example.com'];
      },
    ],
    [
      'the served hosts list removed',
      (q: Policy) => {
        delete q.hosts;
      },
    ],
  ])('%s changing counts as weakening, both ways (fail closed)', (_n, edit) => {
    const after = edited(start, edit as Edit);
    expect(classifyChange(start, after).weakens).toBe(true);
    expect(classifyChange(after, start).weakens).toBe(true);
  });

  it('a mixed change weakens and does not strengthen', () => {
    const after = edited(base, (q) => {
      r0(q).require.maxAge = '1m';
      r0(q).require.factors = ['webauthn', 'totp'];
    });
    expect(classifyChange(base, after)).toMatchObject({ weakens: true, strengthens: false });
    expect(classifyChange(after, base)).toMatchObject({ weakens: true, strengthens: false });
  });

  it.each([
    [
      'the description',
      (q: Policy) => {
        r0(q).description = 'new words';
      },
    ],
    [
      '"$schema"',
      (q: Policy) => {
        q.$schema = './x.json';
      },
    ],
    [
      'maxAge spelled another way',
      (q: Policy) => {
        r0(q).require.maxAge = '300s';
      },
    ],
    [
      'a path written as a list',
      (q: Policy) => {
        r0(q).match.path = ['/api/projects/*'];
      },
    ],
    [
      'methods reordered',
      (q: Policy) => {
        r1(q).match.methods = ['DELETE', 'POST'];
      },
    ],
    [
      '"enforce" written out',
      (q: Policy) => {
        r0(q).mode = 'enforce';
      },
    ],
  ])('%s changing is neither', (_n, edit) => {
    expect(verdict(base, edited(base, edit))).toBe('neither');
  });

  it('a superset pattern strengthens; a pattern change not provably a superset weakens', () => {
    const one = doc([rule('r', '/admin/**')]);
    const widen = (path: string | string[]) => doc([rule('r', path)]);
    expect(verdict(one, widen('/**'))).toBe('strengthens');
    expect(verdict(one, widen(['/admin/**', '/x']))).toBe('strengthens');
    expect(verdict(doc([rule('r', '/r/*.csv')]), doc([rule('r', '/r/*')]))).toBe('strengthens');
    expect(verdict(doc([rule('r', '/r/a*.csv')]), doc([rule('r', '/r/*.csv')]))).toBe('strengthens');
    // Together these cover /admin/** (the root and every deeper path), but no single pattern does:
    // the classifier does not prove unions, so it calls this narrowing.
    expect(verdict(one, widen(['/admin', '/admin/*', '/admin/*/**']))).toBe('weakens');
    expect(verdict(doc([rule('r', '/r/*.csv')]), doc([rule('r', '/r/x*')]))).toBe('weakens');
  });
});
