// Walks every page of the console on the demo project at two widths, opening
// the first rows of every list, and checks what a person reads: no
// "undefined", "[object Object]", "NaN" or raw base64 in any cell, and no
// horizontal overflow; then reads, at 1,440 pixels, the cells of the places
// the demo's data fills: the overview's Web API card, the workflows' and
// functions' triggers, a skipped action, a succeeded job run, an empty list.
// Run by demo_test.go with BASE, ADMIN_KEY and SHOTS.
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
    if (width === 1440) await reads(page);
    await page.close();
  }
  assert.deepEqual([...new Set(problems)], []);
  console.log("console tour: ok");
} finally {
  await browser.close();
}

// reads asserts the text a person reads where the demo's README steps left
// something to read.
async function reads(page) {
  const auth = { Authorization: "Bearer " + ADMIN_KEY };
  const get = async (path) => (await fetch(BASE + path, { headers: auth })).json();
  const visit = async (hash, ready) => {
    await page.goto(BASE + "/console/" + hash);
    await page.waitForSelector(ready);
  };
  // cells reads a table's rows as objects keyed by its column titles.
  const cells = (sel) => page.$$eval(sel, (tables) => tables.flatMap((t) => {
    const heads = [...t.querySelectorAll("thead th")].map((th) => th.innerText.trim());
    return [...t.querySelectorAll("tbody tr")].map((tr) => Object.fromEntries([...tr.cells].map((td, i) => [heads[i], td.innerText.trim()])));
  }));

  // The overview's Web API card, with the requests the README's steps made.
  await visit("#/overview", "#page .card");
  const card = await page.locator("#page .card", { hasText: "Web API" }).innerText();
  const web = /^Web API\s+([\d,]+) requests\s+(\d+) server errors \((\d+\.\d)%\), (\d+) refused$/.exec(card.trim());
  assert.ok(web, "the Web API card reads " + JSON.stringify(card));
  assert.ok(Number(web[1].replace(/,/g, "")) > 20, "Web API requests: " + web[1]);

  // Each workflow's triggers by name and kind; each function's trigger.
  await visit("#/workflows", "#page tbody tr.clickable");
  const flows = Object.fromEntries((await cells("#page table")).map((r) => [r.Workflow, r.Triggers]));
  assert.deepEqual(flows, {
    "case-update-consumer": "When_a_case_update_is_in_the_queue (ServiceProvider)",
    "key-account-review": "When_an_event_arrives (Request, Http)",
    "nightly-report": "Every_morning (Recurrence)",
    "order-intake": "manual (Request, Http)",
  });
  await visit("#/functions", "#page tbody tr.clickable");
  const fns = Object.fromEntries((await cells("#page table")).map((r) => [r.Function, r.Trigger]));
  assert.equal(fns["account-webhook"], "httpTrigger · POST · hooks/account-changes");

  // A skipped action (the branch a run did not take) reads grey "Skipped",
  // with no resubmit button, in the picture and in the tree.
  const { value: runs } = await get("/admin/v1/workflows/case-update-consumer/runs?top=50");
  let skipped = null;
  for (const r of runs) {
    const full = await get("/admin/v1/workflows/case-update-consumer/runs/" + r.name);
    const a = (full.actions || []).find((x) => x.status === "Skipped");
    if (a) { skipped = { run: r.name, action: a }; break; }
  }
  assert.ok(skipped, "no run of case-update-consumer has a skipped action");
  await visit(`#/workflows/case-update-consumer/${skipped.run}`, ".g-graph");
  const node = page.locator(`.g-graph .g-node[data-action='${skipped.action.name}']`);
  assert.equal(await node.getAttribute("data-status"), "Skipped");
  assert.match(await node.innerText(), /· Skipped$/);
  assert.equal(await node.evaluate((n) => getComputedStyle(n).borderLeftStyle), "dashed");
  await node.click();
  const detail = page.locator(".g-detail");
  assert.match(await detail.innerText(), /Skipped/);
  assert.doesNotMatch(await detail.innerText(), /Error/);
  assert.equal(await detail.locator("button", { hasText: "Resubmit" }).count(), 0);
  await page.$$eval("ul.tree details", (ds) => ds.forEach((d) => { d.open = true; }));
  const li = page.locator(`ul.tree li[data-action='${skipped.action.name}']`);
  const badge = li.locator(":scope > details > summary .badge");
  assert.equal(await badge.innerText(), "Skipped");
  assert.equal(await badge.evaluate((b) => getComputedStyle(b).color), "rgb(102, 112, 133)");
  assert.equal(await li.locator(":scope > details > button").count(), 0, "a skipped action offers a resubmit");

  // A succeeded job run: no progress or phase once it has ended.
  await visit("#/jobs/price-import", "#page tbody tr.clickable");
  const jobRuns = await cells("#page table");
  const done = jobRuns.find((r) => r.Status === "succeeded");
  assert.ok(done, "no succeeded run of price-import: " + JSON.stringify(jobRuns));
  assert.equal(done.Progress, "");
  await visit(`#/jobs/price-import/${done.Run}`, "table.fields");
  const runFields = await page.$$eval("table.fields th", (ths) => ths.map((th) => th.innerText));
  assert.ok(runFields.includes("status") && !runFields.includes("phase") && !runFields.includes("progress"), runFields.join(", "));

  // An empty list says what would fill it.
  await visit("#/events/records/case-updates-to-queue", "h3 >> text=Dead letters (0)");
  assert.equal(await page.locator("#page td.empty").first().innerText(), "No dead-lettered events: every event was delivered or is still being retried.");
  console.log("console tour reads: ok");
}
