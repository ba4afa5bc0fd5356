/**
 * @module The demo app's pages: home, sign-in, projects (forms), projects (single page, fetch),
 * admin settings and "not found". Each page says in one line what its buttons demonstrate.
 */
import { esc, type Flash, page } from './demo-layout';

export interface Project {
  id: number;
  name: string;
}

/** The production project: deleting it also needs an admin's approval (policy rule delete-production-project). */
const PRODUCTION_ID = 4;

const signInFirst = (user: string | null, path: string) =>
  user
    ? ''
    : `<p class="flash bad">You are not signed in, so the buttons here will not work yet. ` +
      `<a href="/login?user=alice&amp;return_to=${encodeURIComponent(path)}">Log in as alice</a> first.</p>`;

export function homePage(user: string | null, flash: Flash | null): string {
  const body = `<p class="lead">A small projects app. Try each page while Stepgate sits in front of it:</p>
<ul class="try">
<li><a href="/projects">Projects</a>: <b>Delete</b> asks you to confirm it is you, shows exactly which project goes,
and deletes it once. Deleting Dawn also needs an admin to approve.</li>
<li><a href="/spa">Projects (single page)</a>: the same deletes without a page reload; with the Stepgate extension
you approve them in the extension.</li>
<li><a href="/admin">Admin settings</a>: <b>Save</b> asks you to confirm it is you once; then saves go straight
through for five minutes.</li>
</ul>
${user ? '' : '<p><a class="button primary" href="/login?user=alice">Log in as alice</a></p>'}`;
  return page({ title: 'Your projects app', path: '/', user, flash, body });
}

/** Sign in: any name, no password (a demo). `problem` is said when the name was not accepted. */
export function loginPage(returnTo: string, problem: string | null, name = 'alice'): string {
  const body = `<p class="lead">This demo app has no passwords: type any name to sign in as that person.
alice is the first owner of Stepgate's console; the README's walk-through also uses bob, dave and erin.</p>
${problem ? `<p class="flash bad" role="alert">${esc(problem)}</p>` : ''}
<form class="card" method="get" action="/login">
<input type="hidden" name="return_to" value="${esc(returnTo)}">
<div class="row"><div><label for="user">Name</label>
<input id="user" name="user" value="${esc(name)}" autocomplete="username" spellcheck="false" required></div>
<button class="primary">Sign in</button></div></form>`;
  return page({ title: 'Sign in', path: '/login', user: null, body });
}

const deleteForm = (p: Project) =>
  `<form method="post" action="/api/projects/${p.id}"><input type="hidden" name="_method" value="DELETE">` +
  `<button class="danger" aria-label="Delete ${esc(p.name)}">Delete</button></form>`;

export function projectsPage(user: string | null, projects: Project[], flash: Flash | null): string {
  const rows = projects
    .map((p) => {
      const prod =
        p.id === PRODUCTION_ID
          ? '<span class="tag">production</span><span class="hint">Deleting it also needs an admin to approve.</span>'
          : '';
      return `<li><span class="name">${esc(p.name)}${prod}</span>${deleteForm(p)}</li>`;
    })
    .join('');
  const body = `<p class="lead">Delete asks you to confirm it is you: Stepgate holds the request, shows exactly which
project goes, and deletes it once you approve.</p>${signInFirst(user, '/projects')}
<section class="card" aria-labelledby="list-title"><h2 id="list-title">Projects</h2>
<ul id="projects" class="items">${rows || '<li>No projects left. Add one below, or restart <code>npm start</code>.</li>'}</ul></section>
<form class="card" method="post" action="/api/projects"><h2>Add a project</h2>
<p class="lead">Not protected: it goes straight through (until you protect it in Stepgate's policy editor).</p>
<div class="row"><div><label for="new-name">Name</label><input id="new-name" name="name" maxlength="80" required></div>
<button>Add</button></div></form>`;
  return page({ title: 'Projects', path: '/projects', user, flash, body });
}

export function spaPage(user: string | null): string {
  const body = `<p class="lead">Delete here calls the app's API from the page, which never reloads. With the Stepgate
extension the request waits while you approve it in the extension; without it, this page links to Stepgate's
confirmation page.</p>${signInFirst(user, '/spa')}
<section class="card" aria-labelledby="list-title"><h2 id="list-title">Projects</h2>
<ul id="spa-projects" class="items"></ul></section>
<p id="spa-status" class="status" role="status" aria-live="polite"></p><script src="/spa.js"></script>`;
  return page({ title: 'Projects (single page)', path: '/spa', user, body });
}

export function adminPage(user: string | null, settings: Record<string, string>, flash: Flash | null): string {
  const email = settings.support_email ?? '';
  const body = `<p class="lead">Save asks you to confirm it is you once; for the next five minutes, saves from this
browser go straight through.</p>${signInFirst(user, '/admin')}
<section class="card" aria-labelledby="now-title"><h2 id="now-title">Now</h2>
<dl><dt>Support e-mail</dt><dd id="support-email">${email ? esc(email) : 'not set'}</dd></dl></section>
<form class="card" method="post" action="/admin/settings"><h2>Change</h2>
<div class="row"><div><label for="support_email">Support e-mail</label>
<input id="support_email" name="support_email" type="email" autocomplete="email" value="${esc(email)}" required></div>
<button class="primary">Save</button></div></form>`;
  return page({ title: 'Admin settings', path: '/admin', user, flash, body });
}

export function notFoundPage(user: string | null): string {
  return page({
    title: 'Page not found',
    path: '',
    user,
    body: '<p class="lead">This app has no such page.</p><p><a href="/">Back to the home page</a></p>',
  });
}
