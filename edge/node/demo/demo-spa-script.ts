/**
 * @module The single-page view's script (served as `/spa.js`): a plain app that deletes with
 * `fetch` and knows nothing of Stepgate beyond its documented answers. It tells the person in words
 * what happened; the code a program would read stays in `data-code` on the status line.
 */

/** The script, as served. Plain JavaScript, no build step: it runs as the demo app's own code. */
export const SPA_SCRIPT = `const list = document.getElementById('spa-projects');
const status = document.getElementById('spa-status');

/** Say what happened; an optional link (text, href) follows the words. */
function say(text, code, link) {
  status.dataset.code = code || '';
  status.textContent = text;
  if (link) {
    const a = document.createElement('a');
    a.href = link[1];
    a.textContent = link[0];
    status.append(' ', a);
  }
}

async function load() {
  const res = await fetch('/api/projects', { credentials: 'same-origin' });
  const projects = res.ok ? await res.json() : [];
  list.replaceChildren(...projects.map((p) => {
    const li = document.createElement('li');
    li.dataset.id = String(p.id);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = p.name;
    // Dawn (4) is the production project: its delete also waits for an admin (like the projects page says).
    if (p.id === 4) name.append(Object.assign(document.createElement('span'), { className: 'tag', textContent: 'production' }));
    const b = document.createElement('button');
    b.className = 'danger';
    b.textContent = 'Delete';
    b.setAttribute('aria-label', 'Delete ' + p.name);
    b.addEventListener('click', () => remove(p, li, b));
    li.append(name, b);
    return li;
  }));
  if (projects.length === 0) list.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'No projects left.' }));
}

const minutes = (seconds) => (seconds > 90 ? 'in ' + Math.ceil(seconds / 60) + ' minutes' : 'in a minute');

/** The words for an answer that did not delete: what happened, and what to do next. */
function notDeleted(p, res, problem) {
  const code = problem.code || '';
  const name = p.name;
  switch (code) {
    case 'ERR_STEP_UP_DENIED':
      return ['You denied it in the Stepgate prompt, so ' + name + ' was not deleted.'];
    case 'ERR_STEP_UP_REQUIRED':
      return problem.challenge_url
        ? [name + ' is not deleted yet: confirm it is you first, then press Delete again.', ['Confirm it is you', problem.challenge_url]]
        : [name + ' is not deleted yet: confirm it is you first.'];
    case 'ERR_TOO_MANY_PROMPTS':
      return [name + ' was not deleted: Stepgate paused approval prompts after too many in a short time. Try again ' +
        minutes(Number(res.headers.get('retry-after')) || 60) + '.'];
    case 'ERR_TOO_MANY_CHALLENGES':
      return [name + ' was not deleted: too many confirmations were started in the last minute. Wait a minute and try again.'];
    case 'ERR_LOCKED_OUT':
      return [name + ' was not deleted: confirming is paused after too many wrong tries. Wait, or ask an administrator.'];
    case 'ERR_IDENTITY_REQUIRED':
      return ['You are not signed in, so ' + name + ' was not deleted.', ['Sign in', '/login?return_to=/spa']];
  }
  if (res.status === 401) return ['You are not signed in, so ' + name + ' was not deleted.', ['Sign in', '/login?return_to=/spa']];
  if (res.status === 404) return [name + ' was already deleted.'];
  return [name + ' was not deleted. ' + (problem.detail || 'Something went wrong; try again.')];
}

async function remove(p, li, b) {
  b.disabled = true;
  say('Deleting ' + p.name + '… (approve it if asked)');
  let res;
  try {
    res = await fetch('/api/projects/' + p.id, { method: 'DELETE', credentials: 'same-origin' });
  } catch {
    b.disabled = false;
    return say(p.name + ' was not deleted: the app could not be reached. Try again.');
  }
  if (res.status === 200) {
    li.remove();
    return say('Deleted ' + p.name + '.');
  }
  const problem = await res.json().catch(() => ({}));
  if (res.status === 202 && problem.page_url) {
    b.disabled = false;
    return say(p.name + ' is not deleted yet: it waits for ' + (problem.required || 'another person') + ' to approve it.',
      problem.code, ['Follow it on its approval page', problem.page_url]);
  }
  if (res.status === 404) li.remove();
  else b.disabled = false;
  const [text, link] = notDeleted(p, res, problem);
  say(text, problem.code, link);
}
load();
`;
