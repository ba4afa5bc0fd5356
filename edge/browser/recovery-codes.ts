/**
 * @module The recovery codes on the enrolment page, shown once: one code per line (the stylesheet
 * never breaks one inside), with Copy (the clipboard, or the codes selected when it is not allowed)
 * and Download (a .txt file made in the browser: the codes never travel again).
 */
import { $ } from './api';

let shown: string[] = [];

const say = (text: string) => {
  $('codes-status').textContent = text;
};

/** The text copied or downloaded: a heading line, then one code per line. */
const asText = (codes: string[]) => `Recovery codes for ${location.host} (each works once)\n\n${codes.join('\n')}\n`;

/** Select the codes on the page, so the person can copy them with the keyboard or the menu. */
function selectCodes(): void {
  const range = document.createRange();
  range.selectNodeContents($('recovery-codes'));
  const sel = getSelection();
  sel?.removeAllRanges();
  sel?.addRange(range);
}

/** Show the codes (if any came with the answer), and move focus to them: they are shown only this once. */
export function showRecoveryCodes(codes: string[] | undefined): void {
  if (!codes?.length) return;
  shown = codes;
  const list = $('recovery-codes');
  list.replaceChildren(
    ...codes.map((c) => {
      const li = document.createElement('li');
      li.textContent = c;
      return li;
    }),
  );
  $('recovery').hidden = false;
  $('recovery-title').setAttribute('tabindex', '-1');
  $('recovery-title').focus();
}

/** Wire Copy and Download. */
export function wireRecoveryCodes(): void {
  $('copy-codes').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(asText(shown));
      say('Copied. Paste them somewhere safe, such as your password manager.');
    } catch {
      selectCodes();
      say('Your browser did not allow copying from here: the codes are selected, so copy them with your keyboard or menu.');
    }
  });
  $('download-codes').addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([asText(shown)], { type: 'text/plain;charset=utf-8' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `recovery-codes-${location.hostname}.txt`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    say('Downloaded as a text file. Keep it somewhere safe, away from this device if you can.');
  });
}
