/**
 * The words the step-up page, the approval pages and the extension's prompt use for what a request
 * asks for: never an HTTP method in prose, and a form's method override said plainly.
 */
import { describe, expect, it } from 'vitest';
import { methodOverrideNote, methodWords } from '../../shared/method-words';

describe('method words', () => {
  it('says what each method asks for in words, and shows an unknown method as it is', () => {
    expect(methodWords('DELETE')).toBe('Delete');
    expect(methodWords('delete')).toBe('Delete');
    expect(methodWords('PATCH')).toBe('Change');
    expect(methodWords('POST')).toBe('Send to');
    expect(methodWords('PROPFIND')).toBe('PROPFIND');
  });

  it('says a form asked for another method only when the two differ', () => {
    expect(methodOverrideNote('POST', 'DELETE')).toBe('Sent by a form that asks the app to delete.');
    expect(methodOverrideNote('post', 'PATCH')).toBe('Sent by a form that asks the app to change.');
    expect(methodOverrideNote('DELETE', 'delete')).toBeNull();
    expect(methodOverrideNote('POST', 'POST')).toBeNull();
  });
});
