// Walks every page of the console on the demo project at two widths, opening
// the first rows of every list, and checks what a person reads: no
// "undefined", "[object Object]", "NaN" or raw base64 in any cell, and no
// horizontal overflow. Run by console_test.go with BASE, ADMIN_KEY and SHOTS.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, ADMIN_KEY, SHOTS } = process.env;
const bad = /\bundefined\b|\[object Object\]|\bNaN\b|^(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9+/]{32,}={0,2}$|"\$content":\s*"[A-Za-z0-9+/=]{16,}"/m;
const browser = await launchBrowser();
const problems = [];
try {
  for (const width of [1440, 800]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    page.on("pageerror", (e) => problems.push(`${width}px: script error: ${e.message}`));
    await page.goto(BASE + "/console/");
    await page.fill("#key", ADMIN_KEY);
    await page.click("button[type=submit]");
    await page.waitForSelector("#who >> text=admin");
    const pages = await page.$$eval("#nav a", (as) => as.map((a) => a.getAttribute("href")));
    const visited = new Set();
    const check = async (where) => {
      await page.waitForFunction(() => !document.querySelector("#page > p.muted")?.textContent.startsWith("Loading"));
      await page.$$eval("#page details", (ds) => ds.forEach((d) => { d.open = true; }));
      const texts = await page.$$eval("#page td, #page .card, #page h3, #page p, #page summary, #page pre", (els) => els.map((e) => e.innerText));
      for (const t of texts) if (bad.test(t)) problems.push(`${width}px ${where}: reads ${JSON.stringify(t.slice(0, 120))}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (overflow > 1) problems.push(`${width}px ${where}: the page is ${overflow}px wider than the window`);
      const err = await page.$$eval("#page > p.error", (els) => els.map((e) => e.innerText));
      for (const e of err) problems.push(`${width}px ${where}: error shown: ${e}`);
    };
    const open = async (hash) => {
      if (visited.has(hash)) return;
      visited.add(hash);
      await page.goto(BASE + "/console/" + hash);
      await check(hash);
      await page.screenshot({ path: `${SHOTS}/tour-${width}-${hash.replace(/[^a-z0-9]+/gi, "_")}.png`, fullPage: true });
    };
    for (const p of pages) {
      await open(p);
      // Open up to two rows of each list, and one row of the list that opens.
      for (let i = 0; i < 2; i++) {
        await page.goto(BASE + "/console/" + p);
        await check(p);
        const rows = await page.$$("#page tr.clickable");
        if (rows.length <= i) break;
        await rows[i].click();
        await page.waitForTimeout(300);
        const hash = new URL(page.url()).hash;
        await open(hash);
        const inner = await page.$$("#page tr.clickable");
        if (inner.length) { await inner[0].click(); await page.waitForTimeout(300); await open(new URL(page.url()).hash); }
      }
    }
    console.log(`${width}px: visited ${visited.size} views`);
    await page.close();
  }
  assert.deepEqual([...new Set(problems)], []);
  console.log("console tour: ok");
} finally {
  await browser.close();
}
