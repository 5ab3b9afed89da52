// Reads the integration map of the demo project after its README's steps:
// the routes a person follows there, and the live state on the nodes. Run by
// demo_test.go with BASE, ADMIN_KEY and SHOTS.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, ADMIN_KEY, SHOTS } = process.env;
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const failures = [];
  page.on("pageerror", (e) => failures.push(e.message));
  await page.goto(BASE + "/console/");
  await page.fill("#key", ADMIN_KEY);
  await page.click("button[type=submit]");
  await page.click("nav >> text=Integration map");
  await page.waitForSelector("svg.map");
  const node = async (id) => (await page.locator(`svg.map [data-node='${id}']`).textContent()).trim();
  // A Case's change goes from its table through the records topic to the
  // case-updates queue, where the poison message waits dead-lettered.
  assert.match(await node("table:incident"), /incident\s*table/);
  assert.match(await node("queue:case-updates"), /case-updates\s*queue.*1 dead-lettered/);
  assert.match(await node("workflow:case-update-consumer"), /case-update-consumer\s*workflow/);
  assert.match(await node("job:price-import"), /price-import\s*job · last run succeeded/);
  const routes = await page.$$eval("table tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.innerText).join(" | ")));
  for (const want of [
    "table incident | changes | event topic records | 0",
    "event topic records | case-updates-to-queue | queue case-updates | 0",
    "queue case-updates | When_a_case_update_is_in_the_queue | workflow case-update-consumer | 0",
    "event topic records | key-accounts-to-workflow | workflow key-account-review | 0",
    "event topic records | account-webhook | function account-webhook | 0",
    "job price-import | upserts | table new_pricelistitem | 0",
    "folder prices | new files | job price-import | 0",
  ]) assert.ok(routes.includes(want), `no route "${want}" in:\n${routes.join("\n")}`);
  // A node opens its page.
  await page.click("svg.map [data-node='queue:case-updates']");
  await page.waitForSelector("h3 >> text=Dead-letter queue (1)");
  await page.screenshot({ path: SHOTS + "/console-map.png" });
  assert.deepEqual(failures, []);
  console.log("console map: ok");
} finally {
  await browser.close();
}
