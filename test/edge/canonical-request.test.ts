/** Canonicalization: one meaning per request, or a 400. The table is the contract with origins. */
import { describe, expect, it } from 'vitest';
import { canonicalizeRequest, methodParams } from '../../edge/policy/canonical-request';
import { StepgateError } from '../../edge/http/stepgate-error';

const canon = (url: string, method = 'GET', headers: Record<string, string> = {}, caseSensitive = false) =>
  canonicalizeRequest(method, url, new Headers(headers), { caseSensitive });

const rejects = (url: string, method = 'GET', headers: Record<string, string> = {}) => {
  try {
    canon(url, method, headers);
  } catch (e) {
    expect(e).toBeInstanceOf(StepgateError);
    return e as StepgateError;
  }
  throw new Error(`expected ${method} ${url} to be rejected`);
};

describe('paths that normalize to one canonical form', () => {
  it.each([
    ['http://a.test/api/projects/1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/api//projects///1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/api/./projects/1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/api/x/../projects/1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/api/x/%2e%2e/projects/1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/api/x/%2E./projects/1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/api/%2e/projects/1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/API/Projects/1', '/API/Projects/1', ['api', 'projects', '1']],
    ['http://a.test/api/projects/1/', '/api/projects/1/', ['api', 'projects', '1']],
    ['http://a.test/%61pi/projects/%31', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/api/pr%6Fjects/1', '/api/projects/1', ['api', 'projects', '1']],
    ['http://a.test/a%20b/%7euser', '/a%20b/~user', ['a b', '~user']],
    ['http://a.test/caf%C3%A9', '/caf%C3%A9', ['café']],
    ['http://a.test/adm%C5%BFin', '/adm%C5%BFin', ['admsin']], // ſ folds like Java's equalsIgnoreCase
    ['http://a.test', '/', []],
    ['http://a.test/', '/', []],
    ['http://a.test/?x=1', '/', []],
  ])('%s → %s', (url, path, segments) => {
    const c = canon(url);
    expect(c.path).toBe(path);
    expect(c.matchSegments).toEqual(segments);
  });

  it('keeps case in match segments when the policy is case-sensitive', () => {
    expect(canon('http://a.test/API/x', 'GET', {}, true).matchSegments).toEqual(['API', 'x']);
  });

  it('canonical output is a fixed point: canonicalizing it again changes nothing', () => {
    for (const u of ['http://a.test/a/./b/../c//d/', 'http://a.test/%7e%41%c3%a9/%20x']) {
      const once = canon(u);
      const twice = canon(`http://a.test${once.path}`);
      expect(twice.path).toBe(once.path);
      expect(new URL(`http://a.test${once.path}`).pathname).toBe(once.path); // WHATWG agrees
    }
  });

  it('keeps the query verbatim and never lets it change the path', () => {
    const c = canon('http://a.test/p?a=1&b=%2F..%2F&c');
    expect(c.path).toBe('/p');
    expect(c.query).toBe('a=1&b=%2F..%2F&c');
  });
});

describe('requests refused as ambiguous (400)', () => {
  it.each([
    ['encoded slash', 'http://a.test/api/projects%2F1'],
    ['encoded slash lower-case', 'http://a.test/api%2fprojects/1'],
    ['encoded backslash', 'http://a.test/api%5Cprojects/1'],
    ['raw backslash', 'http://a.test/api\\projects/1'],
    ['NUL', 'http://a.test/api/projects/1%00.json'],
    ['encoded newline', 'http://a.test/api/projects/1%0a'],
    ['encoded tab', 'http://a.test/api/%09projects/1'],
    ['DEL', 'http://a.test/api/projects/1%7F'],
    ['double encoding of "/"', 'http://a.test/api/projects%252F1'],
    ['double encoding of "."', 'http://a.test/api/x/%252e%252e/projects/1'],
    ['semicolon parameter', 'http://a.test/api/projects;x=1/1'],
    ['tomcat ..;/', 'http://a.test/static/..;/api/projects/1'],
    ['encoded semicolon', 'http://a.test/api/projects%3B/1'],
    ['dot-segment escaping the root', 'http://a.test/../api/projects/1'],
    ['encoded dot-segment escaping the root', 'http://a.test/%2e%2e/api/projects/1'],
    ['fragment', 'http://a.test/api/projects/1#x'],
    ['raw space', 'http://a.test/api/projects/1 HTTP/1.1'],
    ['raw control', 'http://a.test/api/projects/1\u0001'],
    ['raw non-ASCII', 'http://a.test/api/projé'],
    ['malformed percent', 'http://a.test/api/%zz'],
    ['truncated percent', 'http://a.test/api/%4'],
    ['invalid UTF-8', 'http://a.test/api/%C3%28'],
    ['overlong UTF-8 for "/"', 'http://a.test/api%C0%AFprojects'],
    ['trailing dot (Windows strips it)', 'http://a.test/api./projects/1'],
    ['trailing space (Windows strips it)', 'http://a.test/api%20/projects/1'],
    ['NTFS stream', 'http://a.test/api/projects/1::$DATA'],
    ['userinfo', 'http://user@a.test/api/projects/1'],
    ['PHP PATH_INFO', 'http://a.test/index.php/admin/settings'],
    ['IIS PATH_INFO', 'http://a.test/app/default.aspx/admin'],
  ])('%s: %s', (_name, url) => {
    const e = rejects(url);
    expect(e.status).toBe(400);
    expect(e.code).toBe('ERR_AMBIGUOUS_REQUEST');
  });

  it('refuses a Host header that disagrees with the target (absolute-form trick)', () => {
    expect(rejects('http://a.test/x', 'GET', { host: 'b.test' }).code).toBe('ERR_AMBIGUOUS_REQUEST');
    expect(canon('http://a.test/x', 'GET', { host: 'A.TEST.' }).hostname).toBe('a.test');
  });

  it('normalizes host case and trailing dot, keeps a port', () => {
    const c = canon('http://App.Example.COM.:8080/x');
    expect(c.hostname).toBe('app.example.com');
    expect(c.host).toBe('app.example.com:8080');
  });
});

describe('methods', () => {
  it('upper-cases methods and matches HEAD as GET', () => {
    expect(canon('http://a.test/', 'delete').method).toBe('DELETE');
    expect(canon('http://a.test/', 'PaTcH').methods).toEqual(['PATCH']);
    expect(canon('http://a.test/', 'HEAD').methods).toEqual(['HEAD', 'GET']);
  });

  it.each(['x-http-method-override', 'x-http-method', 'x-method-override', 'X-HTTP-Method-Override'])(
    'adds the method claimed by %s',
    (h) => {
      const c = canon('http://a.test/', 'POST', { [h]: 'delete' });
      expect(c.methods).toEqual(['DELETE', 'POST']); // the claimed method first: the origin acts as it
      expect(c.overridden).toBe(true);
    },
  );

  it.each([
    ['_method=DELETE', ['DELETE', 'GET']],
    ['_METHOD=delete', ['DELETE', 'GET']],
    ['.method=DELETE', ['DELETE', 'GET']], // PHP turns "." into "_"
    ['%5Fmethod=DELETE', ['DELETE', 'GET']],
    ['_%6Dethod=DELETE', ['DELETE', 'GET']],
    ['%20_method=DELETE', ['DELETE', 'GET']], // PHP drops leading spaces
    ['_method%00x=DELETE', ['DELETE', 'GET']], // PHP cuts names at NUL
    ['[_method]=DELETE', ['DELETE', 'GET']], // qs
    ['a=1;_method=DELETE', ['DELETE', 'GET']], // Rack splits on ';' too
    ['_method=PUT&_method=DELETE', ['PUT', 'DELETE', 'GET']],
    ['method=DELETE', ['GET']],
    ['payment_method=card', ['GET']],
  ])('query %s → %j', (q, methods) => {
    expect(canon(`http://a.test/x?${q}`).methods).toEqual(methods);
  });

  it('refuses methods that are not tokens, and proxy-only methods', () => {
    expect(rejects('http://a.test/', 'DE LETE').code).toBe('ERR_BAD_METHOD');
    expect(rejects('http://a.test/', 'TRACE').status).toBe(405);
    expect(rejects('http://a.test/', 'connect').status).toBe(405);
    expect(rejects('http://a.test/', 'POST', { 'x-http-method-override': 'DE LETE' }).code).toBe('ERR_BAD_METHOD');
  });

  it('finds _method in form bodies however it is spelled', () => {
    expect(methodParams('a=1&_method=delete')).toEqual(['delete']);
    expect(methodParams('a+b=1&_method%5B%5D=x')).toEqual(['x']);
    expect(methodParams('+_method=PUT')).toEqual(['PUT']);
    expect(methodParams('%5f%6d%65%74%68%6f%64=PATCH')).toEqual(['PATCH']);
  });
});
