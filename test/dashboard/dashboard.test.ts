import { it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startHarness, ADMIN } from '../support/harness.ts';
import { openPage, startBrowser } from '../support/browser.ts';

// Every run takes the screenshot (git-ignored dist/); the README's copy in docs/ is rewritten only when asked
// (SM_UPDATE_SCREENSHOT=1) or missing, so a test run never leaves a checkout with uncommitted changes.
const SHOT = fileURLToPath(new URL('../../dist/dashboard.png', import.meta.url));
const README_SHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const clockOf = (at: number) => new Date(at).toISOString().slice(11, 19);
const GROUP_BODY = { regions: ['us-test1'], launchConfig: 'simulated-cloud-default-v2', scalePolicy: 'simulated-cloud-default-v2' };

it('the dashboard shows the cluster live in real Chromium, only with the admin token', async (t) => {
  // The page asks every 100 ms (real time); the cluster moves only when the test moves the manual clock.
  const h = await startHarness(t, { config: { 'dashboard.refreshInterval': 100 } });
  const { group, origin, edges, nodes } = await h.cluster(2, 4);
  const spare = nodes.find((n) => !h.rt.view.nodes.has(n.host))!;
  await origin.publish('live', 'stream1');
  const live = () => nodes.filter((n) => h.rt.view.nodes.has(n.host));
  /** `viewers` spread over the edges, every node reports, then the manager moves on by one step. */
  const step = async (viewers: number) => {
    const serving = live().filter((n) => n !== origin);
    for (const e of serving) e.setSubscribers('live', 'stream1', viewers / serving.length);
    for (const n of live()) await n.report();
    await h.tick(2000);
  };
  h.start();
  await step(200);

  const ctx = await startBrowser(t);
  const dashboard = `${h.url}/streammanager/dashboard/`;
  const everyError: string[] = [];

  await t.test('without a token: the sign-in form and no cluster data', async () => {
    const { page, errors, urls } = await openPage(ctx);
    await page.goto(dashboard);
    await page.locator('form#signin').waitFor();
    const text = await page.locator('body').innerText();
    assert.ok(!text.includes(group) && !text.includes(origin.host) && !text.includes('stream1'), text);
    assert.equal(await page.locator('.group, tr.node, tr.stream').count(), 0);
    assert.deepEqual(urls.filter((u) => u.includes('/api/')), [], 'no admin call without a token');

    // A wrong token is refused by the manager and nothing is shown.
    await page.fill('#token', 'not-the-token');
    await page.click('form#signin button[type=submit]');
    await page.locator('#signin-error').waitFor();
    assert.equal(await page.locator('.group').count(), 0);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
    // Chromium logs the refused request itself; anything else is a fault of the page.
    everyError.push(...errors.filter((e) => !/status of 401/.test(e)));
    await page.close();
  });

  const { page, errors, urls } = await openPage(ctx);

  await t.test('signed in through the URL fragment: groups, nodes, streams, scale events, pool', async () => {
    await page.goto(`${dashboard}#accessToken=${ADMIN}`);
    const card = page.locator(`article.group[data-group="${group}"]`);
    await card.waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the token is wiped from the address bar');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('streammanager.adminToken')), ADMIN);

    // The page follows the cluster as it moves: viewers ramp up until the two edges go over the 60 % alarm
    // (450 of 500 each), the autoscaler launches the spare host as a third edge, and the load falls back.
    for (const viewers of [300, 500, 600, 900, 900, 900]) {
      await step(viewers);
      await page.locator('#status', { hasText: clockOf(h.clock.now()) }).waitFor();
    }
    assert.ok((await h.events(group)).some((e) => e.kind === 'launch' && e.node === spare.host), 'the surge launched the spare host');

    for (const n of [origin, ...edges, spare]) {
      const row = card.locator(`tr.node[data-address="${n.host}"]`);
      await row.locator('.state', { hasText: 'inservice' }).waitFor();
    }
    assert.equal((await card.locator(`tr.node[data-address="${origin.host}"] td.role`).innerText()).trim(), 'origin');
    assert.match(await card.locator(`tr.node[data-address="${edges[0].host}"] td.connections`).innerText(), /^300 \/ 500/);
    assert.match(await card.locator(`tr.node[data-address="${edges[0].host}"] td.links`).innerText(), new RegExp(`${origin.host.replaceAll('.', '\\.')} \\(`));

    const stream = page.locator('#streams tr.stream[data-stream="live/stream1"]');
    await stream.waitFor();
    assert.match(await stream.innerText(), new RegExp(origin.host.replaceAll('.', '\\.')));
    assert.match(await stream.innerText(), /\b900\b/, 'subscribers summed over the three edges');

    const launch = card.locator('tr.event[data-kind="launch"]', { hasText: spare.host });
    await launch.waitFor();
    assert.match(await launch.locator('td.reason').innerText(), /Scale-out: edge load 90% > threshold 60%/);
    assert.match(await launch.locator('td.numbers').innerText(), /loadPct=90/);

    // The chart: a load line and a threshold line per role, the scale-out marked on it.
    await card.locator('svg.chart polyline.load[data-series="us-test1/edge"]').waitFor({ state: 'attached' });
    assert.equal(await card.locator('svg.chart polyline.threshold[data-series="us-test1/edge"]').count(), 1);
    assert.ok((await card.locator('svg.chart g.event-mark[data-kind="launch"]').count()) >= 1);
    assert.match(await card.locator('tr.role[data-role="edge"] td.load').innerText(), /^\s*\d+(\.\d)?%/);

    await page.locator(`#pool tr.host[data-host="${spare.host}"] .state`, { hasText: 'ASSIGNED' }).waitFor();
    const png = await page.screenshot({ path: SHOT, fullPage: true });
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    if (process.env.SM_UPDATE_SCREENSHOT === '1' || !existsSync(README_SHOT)) writeFileSync(README_SHOT, png);
  });

  await t.test('a group created through the API appears without a reload', async () => {
    const created = await h.api('POST', '/admin/nodegroup', { ...GROUP_BODY, name: 'made-by-api' });
    assert.equal(created.status, 201, created.text);
    await page.locator('article.group[data-group="made-by-api"] .badge', { hasText: 'new' }).waitFor();
    // Load follows reports too: the edge's new count shows on the next refresh.
    edges[0].setSubscribers('live', 'stream1', 10);
    await edges[0].report();
    await page.locator(`tr.node[data-address="${edges[0].host}"] td.connections`, { hasText: /^10 \/ 500/ }).waitFor();
  });

  await t.test('setting the alarm threshold (confirmed) changes what the API answers', async () => {
    const card = page.locator(`article.group[data-group="${group}"]`);
    await card.locator('tr.role[data-role="edge"] button[data-action="set-threshold"]').click();
    await page.locator('dialog#confirm[open]').waitFor();
    // Cancel first: nothing changes.
    await page.fill('#confirm-input', '33');
    await page.click('dialog#confirm button[value=cancel]');
    await page.locator('dialog#confirm').waitFor({ state: 'hidden' });
    assert.equal((await h.api('GET', '/admin/alarm/scaleout/default?type=edge')).json.threshold, 60);

    await card.locator('tr.role[data-role="edge"] button[data-action="set-threshold"]').click();
    await page.fill('#confirm-input', '75');
    await page.click('dialog#confirm #confirm-ok');
    await card.locator('tr.role[data-role="edge"] td.threshold', { hasText: '75%' }).waitFor();
    assert.equal((await h.api('GET', '/admin/alarm/scaleout/default?type=edge')).json.threshold, 75);
  });

  await t.test('signing in with the form keeps the token in sessionStorage and out of every URL', async () => {
    const other = await openPage(ctx);
    await other.page.goto(dashboard);
    await other.page.fill('#token', ADMIN);
    await other.page.click('form#signin button[type=submit]');
    await other.page.locator(`article.group[data-group="${group}"]`).waitFor();
    await other.page.click('#signout');
    await other.page.locator('form#signin').waitFor();
    assert.equal(await other.page.locator('.group').count(), 0);
    assert.equal(await other.page.evaluate(() => sessionStorage.length), 0);
    everyError.push(...other.errors);
    for (const u of [...urls, ...other.urls]) assert.ok(!u.includes(ADMIN) || new URL(u).hash.includes(ADMIN), `token in a request URL: ${u}`);
    await other.page.close();
  });

  await t.test('sunset a node, delete a group, reset a TERMINATED host: each confirmed, each through the admin API', async () => {
    const card = page.locator(`article.group[data-group="${group}"]`);
    const confirm = () => page.click('dialog#confirm #confirm-ok');

    await card.locator(`tr.node[data-address="${edges[1].host}"] button[data-action="sunset"]`).click();
    await confirm();
    await card.locator(`tr.node[data-address="${edges[1].host}"] .state`, { hasText: 'draining' }).waitFor();
    assert.equal((await h.api('GET', `/admin/node/${edges[1].host}`)).json.state, 'draining');

    assert.equal((await h.api('PUT', '/admin/nodegroup/made-by-api/autoscale', { paused: true })).status, 200);
    const other = page.locator('article.group[data-group="made-by-api"]');
    await other.locator('.badge.paused').waitFor();
    await other.locator('button[data-action="delete-group"]').click();
    await confirm();
    await other.waitFor({ state: 'detached' });
    assert.equal((await h.api('GET', '/admin/nodegroup/made-by-api')).status, 404);

    // The spare host dies: it misses its reports, the manager cannot ping it, its host is TERMINATED.
    await spare.kill();
    for (let ms = 0; ms <= h.rt.config.instancecontroller.nodeStateToleranceTime; ms += 2000) {
      for (const n of live()) if (n.alive) await n.report();
      await h.tick(2000);
    }
    const host = page.locator(`#pool tr.host[data-host="${spare.host}"]`);
    await host.locator('.state', { hasText: 'TERMINATED' }).waitFor();
    await spare.revive();
    await host.locator('button[data-action="reset-host"]').click();
    await confirm();
    await host.locator('.state', { hasText: 'AVAILABLE' }).waitFor();
    const pool = (await h.api('GET', '/admin/controller/provision')).json as Array<{ host: string; state: string }>;
    assert.equal(pool.find((p) => p.host === spare.host)?.state, 'AVAILABLE');
  });

  await t.test('no console errors', () => {
    assert.deepEqual([...everyError, ...errors], []);
  });
});
