/**
 * @module Times as people read them (shared/local-time.ts, edge/pages/time-element.ts): the local
 * time in a fixed locale and zone, with the zone's name changing at a DST switch, the fixed UTC
 * form, and a value that is not a time.
 */
import { describe, expect, it } from 'vitest';
import { localTime, UNKNOWN_TIME, utcTime } from '../../shared/local-time';
import { timeElement } from '../../edge/pages/time-element';

/** ICU puts narrow no-break spaces in "1:59 AM"; compare words, not which space. */
const words = (t: { local: string; utc: string }) => ({ local: t.local.replace(/\s/gu, ' '), utc: t.utc });

describe('localTime', () => {
  const berlin = { locale: 'de-DE', timeZone: 'Europe/Berlin' };
  const newYork = { locale: 'en-US', timeZone: 'America/New_York' };

  it('shows Berlin time in German, winter time until the spring switch and summer time from it', () => {
    expect(localTime('2026-03-29T00:59:00Z', berlin)).toEqual({ local: '29.03.2026, 01:59 MEZ', utc: '2026-03-29 00:59 UTC' });
    // One minute later the clocks jump from 02:00 to 03:00: the name says which hour it is.
    expect(localTime('2026-03-29T01:00:00Z', berlin)).toEqual({ local: '29.03.2026, 03:00 MESZ', utc: '2026-03-29 01:00 UTC' });
  });

  it('tells the repeated autumn hour apart by the zone name (the same 02:xx happens twice)', () => {
    expect(localTime('2026-10-25T00:30:00Z', berlin).local).toBe('25.10.2026, 02:30 MESZ');
    expect(localTime('2026-10-25T01:30:00Z', berlin).local).toBe('25.10.2026, 02:30 MEZ');
  });

  it('shows New York time in US English across the spring and autumn switches', () => {
    expect(words(localTime('2026-03-08T06:59:00Z', newYork))).toEqual({ local: 'Mar 8, 2026, 1:59 AM EST', utc: '2026-03-08 06:59 UTC' });
    expect(words(localTime('2026-03-08T07:00:00Z', newYork)).local).toBe('Mar 8, 2026, 3:00 AM EDT');
    expect(words(localTime('2026-11-01T05:30:00Z', newYork)).local).toBe('Nov 1, 2026, 1:30 AM EDT');
    expect(words(localTime('2026-11-01T06:30:00Z', newYork)).local).toBe('Nov 1, 2026, 1:30 AM EST');
  });

  it('takes a Date, an ISO string and epoch milliseconds alike, and the UTC form is the same for every locale', () => {
    const at = Date.UTC(2026, 11, 31, 23, 5);
    const forms = [at, new Date(at), new Date(at).toISOString()].map((t) => localTime(t, berlin));
    expect(new Set(forms.map((f) => JSON.stringify(f))).size).toBe(1);
    // Berlin is already in the new year; UTC is not.
    expect(forms[0]).toEqual({ local: '01.01.2027, 00:05 MEZ', utc: '2026-12-31 23:05 UTC' });
    expect(localTime(at, newYork).utc).toBe('2026-12-31 23:05 UTC');
  });

  it('says "unknown time" for a value that is not a time, rather than "Invalid Date" or throwing', () => {
    for (const bad of ['', 'yesterday', Number.NaN, new Date(Number.NaN)]) {
      expect(localTime(bad, berlin)).toEqual({ local: UNKNOWN_TIME, utc: UNKNOWN_TIME });
      expect(utcTime(bad)).toBe(UNKNOWN_TIME);
    }
  });
});

describe('timeElement', () => {
  it('renders a <time> with the ISO instant and the UTC time as text, readable without script', async () => {
    expect(String(await timeElement('2026-03-29T01:00:30.250Z'))).toBe(
      '<time datetime="2026-03-29T01:00:30.250Z">2026-03-29 01:00 UTC</time>',
    );
    expect(String(await timeElement(0))).toBe('<time datetime="1970-01-01T00:00:00.000Z">1970-01-01 00:00 UTC</time>');
  });

  it('renders a value that is not a time as plain words, with no datetime attribute for a script to misread', async () => {
    expect(String(await timeElement('<script>'))).toBe(`<span>${UNKNOWN_TIME}</span>`);
  });
});
