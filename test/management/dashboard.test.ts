// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core. Each page
// loads with no console errors, the overview's charts move while a publisher runs, and a purge and a
// force-close done in the browser are seen by an AMQP client. Screenshots of the main pages go to
// docs/dashboard/ when WARREN_SCREENSHOTS is set.
import amqp from 'amqplib';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`dashboard tests skipped: no chromium at ${CHROMIUM} (Debian: chromium, or set CHROMIUM_PATH)`);
const screenshots = process.env.WARREN_SCREENSHOTS ? join(import.meta.dirname, '..', '..', 'docs', 'dashboard') : undefined;

let broker: RunningBroker;
let browser: Browser;
let page: Page;
let base: string;
const errors: string[] = [];

describe.skipIf(!hasChromium)('the dashboard', () => {
  beforeAll(async () => {
    broker = await startBroker({ management: true });
    base = new URL(broker.managementUrl!).origin;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(base);
    await page.fill('#login input[name=password]', 'guest');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('[data-chart]');
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await broker?.close();
  });

  async function show(hash: string, name: string): Promise<void> {
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector(`main[data-page="${hash.split('/')[1]}"]`);
    if (screenshots) {
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, `${name}.png`) });
    }
  }

  it('moves the overview charts while a publisher runs', async () => {
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('dash-load');
    const publishing = setInterval(() => {
      for (let i = 0; i < 50; i++) ch.sendToQueue('dash-load', Buffer.from('tick'));
    }, 50);
    try {
      await show('#/overview', 'overview');
      const depth = '[data-chart="Queued messages"]';
      await expect.poll(async () => Number(await page.getAttribute(depth, 'data-points')), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      const last = async () => JSON.parse((await page.getAttribute(depth, 'data-last'))!) as number[];
      const first = await last();
      // the total queued grows from one sample to a later one
      await expect.poll(async () => (await last())[2], { timeout: 10_000 }).toBeGreaterThan(first[2]);
      const rates = JSON.parse((await page.getAttribute('[data-chart="Message rates (per second)"]', 'data-last'))!) as number[];
      expect(rates[0]).toBeGreaterThan(0);
      if (screenshots) await page.screenshot({ path: join(screenshots, 'overview.png') });
    } finally {
      clearInterval(publishing);
      await conn.close();
    }
  }, 30_000);

  it('purges a queue from its page, and an AMQP client sees it empty', async () => {
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('dash-purge');
    for (let i = 0; i < 7; i++) ch.sendToQueue('dash-purge', Buffer.from(`m${i}`), { headers: { n: i } });
    await ch.waitForConfirms();
    await show('#/queue/%2F/dash-purge', 'queue');
    expect(await page.textContent('[data-stat=Ready] b')).toBe('7');
    await page.click('text=Peek (requeue)');
    await page.waitForSelector('#messages pre');
    expect(await page.locator('#messages pre').count()).toBe(5);
    await page.click('text=Purge messages');
    await expect.poll(() => page.textContent('[data-stat=Ready] b')).toBe('0');
    expect((await ch.checkQueue('dash-purge')).messageCount).toBe(0);
    await conn.close();
  });

  it('force-closes a connection from the connections page, and the client hears 320', async () => {
    const conn = await amqp.connect(broker.url, { clientProperties: { connection_name: 'dash-victim' } });
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    await show('#/connections', 'connections');
    await page.click('tr:has-text("dash-victim") >> text=Force close');
    expect((await closed).message).toMatch(/320 \(CONNECTION-FORCED\)/);
  });

  it('loads every page without a console error', async () => {
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createChannel();
    await ch.assertExchange('dash-x', 'topic');
    await ch.assertQueue('dash-q');
    await ch.bindQueue('dash-q', 'dash-x', 'a.#');
    for (const [hash, name] of [
      ['#/channels', 'channels'],
      ['#/exchanges', 'exchanges'],
      ['#/queues', 'queues'],
      ['#/users', 'users'],
      ['#/vhosts', 'vhosts'],
      ['#/policies', 'policies'],
      ['#/definitions', 'definitions'],
    ]) {
      await show(hash, name);
      expect(await page.locator('main table, main fieldset, main button').count(), hash).toBeGreaterThan(0);
    }
    expect(await page.textContent('main')).toContain('Download broker definitions');
    await show('#/exchanges', 'exchanges');
    expect(await page.textContent('main')).toContain('dash-x');
    await conn.close();
    expect(errors).toEqual([]);
  });
});
