// Drives Debian's Chromium (headless, through puppeteer-core) through the controller's dashboard
// while simulated agents carry out a rollout (tests/e2e/dashboard_test.cpp sets the scene and runs
// this): sign in, watch the rollout progress, pause it, open a failed machine's history and ask
// for its boot into recovery, see a viewer refused an action, and find that refusal in the audit
// log. Saves a screenshot of each page. Any JavaScript error on the page fails the test.
//
//   node dashboard-test.mjs   (settings in the environment: see `need` below)
import puppeteer from 'puppeteer-core';
import { mkdirSync } from 'node:fs';

const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = need('LIFEBOAT_URL');                 // https://127.0.0.1:PORT
const tokens = { operator: need('OPERATOR_TOKEN'), viewer: need('VIEWER_TOKEN'), admin: need('ADMIN_TOKEN') };
const rollout = need('ROLLOUT_ID');
const failing = need('FAILING_MACHINE');           // a machine whose attempt fails, with its error text
const failure = need('FAILING_TEXT');
const shots = need('SCREENSHOTS');
mkdirSync(shots, { recursive: true });

const problems = [];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // The controller's certificate is signed by its own CA, which this throwaway profile does not
  // trust; the C++ side checks the certificate with curl --cacert.
  acceptInsecureCerts: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const step = (text) => console.log(`dashboard-test: ${text}`);
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    // A refused fetch is logged by Chromium as a console error; the page's own code logs nothing.
    if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) problems.push('console error: ' + m.text());
  });
  const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  const text = (selector) => page.$eval(selector, (n) => n.textContent);
  const waitText = (selector, pattern, timeout = 20000) => page.waitForFunction(
    (s, p) => [...document.querySelectorAll(s)].some((n) => new RegExp(p).test(n.textContent)),
    { timeout, polling: 100 }, selector, pattern.source);
  const signIn = async (token) => {
    await page.goto(base + '/ui/#/signin', { waitUntil: 'load' });
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(base + '/ui/#/', { waitUntil: 'load' });
    await page.waitForSelector('form.signin input[name=token]');
    await page.type('form.signin input[name=token]', token);
    await page.click('form.signin button[type=submit]');
    await page.waitForSelector('#nav:not([hidden])');
  };

  // ---- sign in: a wrong token is refused, the operator's taken ----
  const answer = await page.goto(base + '/', { waitUntil: 'load' });
  if (!answer.url().endsWith('/ui/')) problems.push('/ did not lead to /ui/ but to ' + answer.url());
  await page.waitForSelector('form.signin');
  await page.type('form.signin input[name=token]', 'not-a-token');
  await page.click('form.signin button[type=submit]');
  await waitText('#banner', /not known to this controller/);
  await shot('1-sign-in-refused');
  step('a wrong token is refused');
  await signIn(tokens.operator);
  await waitText('#who', /olivia \(operator\)/);
  await waitText('main h1', /Fleet/);
  await waitText('main table', /1\.0/);                 // the image
  await waitText('main', /signed, key [0-9a-f]{16}/);   // and its signature
  await waitText('main', /Pending acceptance/);
  await shot('2-fleet');
  step('the fleet overview shows the machines, the image and its signature');

  // ---- the rollout moves on by itself while its page is open ----
  await page.goto(`${base}/ui/#/rollouts/${rollout}`, { waitUntil: 'load' });
  await waitText('main h1', new RegExp(`Rollout ${rollout}`));
  const succeeded = async () => Number((await text('main .progress-words')).match(/(\d+) succeeded/)[1]);
  const first = await succeeded();
  await page.waitForFunction((n) => {
    const words = document.querySelector('main .progress-words');
    return words && Number(words.textContent.match(/(\d+) succeeded/)[1]) > n;
  }, { timeout: 30000, polling: 200 }, first);
  step(`the rollout's progress moved on without a reload (${first} succeeded, then ${await succeeded()})`);
  await waitText('main table', /Wave/);
  await shot('3-rollout-progress');

  // ---- pause it: it says paused, and no further machine starts ----
  await page.click('xpath/.//button[text()="Pause"]');
  await waitText('main h1 .badge', /^paused$/);
  await waitText('#banner', /Pause: done/);
  const pendingOf = async () => Number((await text('main .progress-words')).match(/(\d+) pending/)[1]);
  const pendingAtPause = await pendingOf();
  // What was running finishes; nothing pending starts (three refreshes of the page).
  await new Promise((r) => setTimeout(r, 6500));
  const pendingLater = await pendingOf();
  if (pendingLater !== pendingAtPause) problems.push(`paused, yet machines started: pending ${pendingAtPause} -> ${pendingLater}`);
  if (!(await page.$eval('xpath/.//button[text()="Resume"]', (b) => !b.disabled))) problems.push('Resume is not offered on a paused rollout');
  await shot('4-rollout-paused');
  step(`paused: ${pendingLater} machines still pending after 6.5 s`);

  // ---- a failed machine's history, and its boot into recovery ----
  await page.goto(`${base}/ui/#/machines/${encodeURIComponent(failing)}`, { waitUntil: 'load' });
  await waitText('main h1', new RegExp(`Machine ${failing}`));
  await waitText('main .attempt .error', new RegExp(failure.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await waitText('main .attempt table', /write-image/);
  await waitText('main .attempt table', /failed/);
  await page.click('xpath/.//button[text()="Boot into recovery"]');
  await waitText('#banner', /Boot into recovery: done/);
  await waitText('main .actions', /its next boot starts Lifeboat/);
  await shot('5-machine-history');
  step('the failed machine shows every step and its error text; its boot into recovery is asked');

  // ---- the machine list, filtered ----
  await page.goto(`${base}/ui/#/machines?state=failed`, { waitUntil: 'load' });
  await waitText('main p', /1 machines match/);
  await waitText('main table', new RegExp(failing));
  await shot('6-machines-failed');
  step('the machine list filters by state');

  // ---- a viewer sees, and is refused an action ----
  await page.click('xpath/.//button[text()="Sign out"]');
  await signIn(tokens.viewer);
  await waitText('#who', /victor \(viewer\)/);
  await page.goto(`${base}/ui/#/rollouts/${rollout}`, { waitUntil: 'load' });
  await waitText('main h1 .badge', /^paused$/);
  const resume = await page.$eval('xpath/.//button[text()="Resume"]', (b) => ({ disabled: b.disabled, title: b.title }));
  if (!resume.disabled || !/viewer/.test(resume.title)) problems.push('a viewer is offered Resume: ' + JSON.stringify(resume));
  // The controller is what refuses: the same request the button would send, with the viewer's token.
  const refused = await page.evaluate(async (id) => {
    const r = await fetch(`/api/v1/rollouts/${id}/resume`, {
      method: 'POST', headers: { Authorization: 'Bearer ' + sessionStorage.getItem('lifeboat.token') } });
    return { status: r.status, body: await r.json() };
  }, rollout);
  if (refused.status !== 403 || refused.body.error.code !== 'permission_denied')
    problems.push('a viewer\'s resume was not refused: ' + JSON.stringify(refused));
  if (!(await page.$('#nav-audit[hidden]'))) problems.push('a viewer is offered the audit log');
  await shot('7-viewer');
  step(`a viewer sees the actions disabled, and the controller refuses one: ${refused.status} ${refused.body.error.message}`);

  // ---- the audit log, filtered, shows the refusal and the operator's actions ----
  await page.click('xpath/.//button[text()="Sign out"]');
  await signIn(tokens.admin);
  await page.goto(`${base}/ui/#/audit`, { waitUntil: 'load' });
  await waitText('main table', /PauseRollout/);
  await page.select('form.filters select[name=outcome]', 'denied');
  await page.click('form.filters button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('outcome=denied'));
  // The filtered page has replaced the whole log (whose rows name victor too: his CreateOperator).
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('main table tbody tr')];
    return rows.length > 0 && rows.every((r) => /denied/.test(r.textContent));
  }, { timeout: 20000, polling: 100 });
  const rows = await page.$$eval('main table tbody tr', (trs) => trs.map((tr) => tr.textContent));
  if (!rows.length || rows.some((r) => !/denied/.test(r))) problems.push('the denied filter shows: ' + JSON.stringify(rows));
  if (!rows.some((r) => /victor.*ResumeRollout/.test(r))) problems.push('the viewer\'s refusal is not in the audit log: ' + JSON.stringify(rows));
  await shot('8-audit-denied');
  step('the audit log, filtered to refusals, shows the viewer\'s');
} catch (e) {
  problems.push('the walk stopped: ' + (e.stack || e));
} finally {
  await browser.close();
}
for (const p of problems) console.log('dashboard-test: PROBLEM: ' + p);
process.exit(problems.length ? 1 : 0);
