// Reads the integration map of the demo project after its README's steps:
// the routes a person follows there, the live state on the nodes, and the
// rate and backlog on an edge while account updates flow into a queue. Run by
// demo_test.go with BASE, ADMIN_KEY and SHOTS.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, ADMIN_KEY, SHOTS } = process.env;
const auth = { Authorization: "Bearer " + ADMIN_KEY };
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
  const routes = await page.$$eval("table tbody tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.innerText)));
  const route = (from, via, to) => routes.find((r) => r[0] === from && r[1] === via && r[2] === to);
  for (const [from, via, to] of [
    ["Web API callers", "writes", "table incident"],
    ["table incident", "changes", "event topic records"],
    ["event topic records", "case-updates-to-queue", "queue case-updates"],
    ["queue case-updates", "When_a_case_update_is_in_the_queue", "workflow case-update-consumer"],
    ["event topic records", "key-accounts-to-workflow", "workflow key-account-review"],
    ["event topic records", "account-webhook", "function account-webhook"],
    ["job price-import", "upserts", "table new_pricelistitem"],
    ["folder prices", "new files", "job price-import"],
  ]) {
    const r = route(from, via, to);
    assert.ok(r, `no route "${from} | ${via} | ${to}" in:\n${routes.map((x) => x.join(" | ")).join("\n")}`);
    assert.equal(r[5], "0", `failures of ${from} → ${to}`);
  }
  // Each route's rate, read from the server's counters, and the backlog of
  // those into a queue or an event subscription.
  assert.match(route("event topic records", "case-updates-to-queue", "queue case-updates")[3], /^\d+(\.\d+)? msg\/s$/);
  assert.equal(route("event topic records", "case-updates-to-queue", "queue case-updates")[4], "0 waiting");
  assert.match(route("queue case-updates", "When_a_case_update_is_in_the_queue", "workflow case-update-consumer")[3], /^\d+(\.\d+)? runs\/s$/);
  assert.match(route("event topic records", "account-webhook", "function account-webhook")[3], /^\d+(\.\d+)? deliveries\/s$/);
  assert.match(route("event topic records", "account-webhook", "function account-webhook")[4], /^\d+ pending$/);

  // Live: account updates made now through the Web API flow through the
  // records topic into the account-changes queue, which nothing reads in the
  // demo; the edge into it shows their rate and the messages waiting.
  const q = async () => (await (await fetch(BASE + "/admin/v1/servicebus/queues/account-changes", { headers: auth })).json()).properties.countDetails.activeMessageCount;
  const waitingBefore = await q();
  const { value: [acct] } = await (await fetch(BASE + "/api/data/v9.2/accounts?$top=1&$select=accountid", { headers: auth })).json();
  let sent = 0, sending = true;
  const sender = (async () => {
    while (sending && sent < 60) {
      const r = await fetch(`${BASE}/api/data/v9.2/accounts(${acct.accountid})`, { method: "PATCH",
        headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify({ description: "map test " + sent }) });
      assert.equal(r.status, 204);
      sent++;
      await new Promise((ok) => setTimeout(ok, 100));
    }
  })();
  const edge = page.locator("svg.map text[data-edge~='eventtopic:records>queue:account-changes']");
  await page.waitForFunction(() => {
    const t = document.querySelector("svg.map text[data-edge~='eventtopic:records>queue:account-changes']");
    return t && /^[1-9]|^0\.\d*[1-9]/.test(t.textContent) && !/ 0 waiting/.test(t.textContent);
  }, null, { timeout: 30000 });
  const live = await edge.textContent();
  sending = false;
  await sender;
  const m = /^(\d+(?:\.\d+)?) msg\/s · (\d+) waiting$/.exec(live);
  assert.ok(m, "the edge into account-changes reads " + JSON.stringify(live));
  assert.ok(Number(m[1]) > 0 && Number(m[1]) <= 20, "rate " + m[1]);
  assert.ok(Number(m[2]) > waitingBefore && Number(m[2]) <= waitingBefore + sent, `waiting ${m[2]}, before ${waitingBefore}, sent ${sent}`);
  await page.screenshot({ path: SHOTS + "/console-map-live.png" });

  // A node opens its page.
  await page.click("svg.map [data-node='queue:case-updates']");
  await page.waitForSelector("h3 >> text=Dead-letter queue (1)");
  await page.screenshot({ path: SHOTS + "/console-map.png" });
  assert.deepEqual(failures, []);
  console.log("console map: ok");
} finally {
  await browser.close();
}
