// An operator follows a change: from an account's change history to the
// trace of the update, across the change log, the event router and a
// workflow whose action failed, and from the failed run and a message the
// change put on a queue back to the same trace; and from a dead-lettered
// event to the trace of the contact update it carried. Run by
// traces_test.go with BASE, OPERATOR_KEY, ACCOUNT, TRACE, CONTACT_TRACE and
// SHOTS in the environment.
import { launchBrowser } from "./launch.mjs";
import assert from "node:assert/strict";

const { BASE, OPERATOR_KEY, ACCOUNT, TRACE, CONTACT_TRACE, SHOTS } = process.env;
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const failures = [];
  page.on("pageerror", (e) => failures.push(e.message));
  await page.goto(BASE + "/console/");
  await page.fill("#key", OPERATOR_KEY);
  await page.click("button[type=submit]");
  await page.waitForSelector("#who >> text=operator");

  // The account's change history: the update links to its trace.
  await page.goto(BASE + "/console/#/tables/account/" + ACCOUNT);
  await page.waitForSelector("h3 >> text=Change history");
  const update = page.locator("tr", { has: page.locator("span.badge.Update") });
  await update.locator("a.follow").click();
  await page.waitForSelector("table.trace");
  assert.equal(new URL(page.url()).hash, "#/traces/" + TRACE);

  // Each hop, in causal order, with its surface; the failed action marked.
  const rows = await page.locator("table.trace tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.innerText.trim())));
  const hops = rows.map((r) => r[1] + ": " + r[0]);
  // The path to the failing action in causal order; the delivery to the
  // audit queue is its sibling branch, drawn before or after it by when it
  // started.
  const path = [
    "Web API: PATCH /api/data/v9.2/accounts(" + ACCOUNT + ")",
    "Change log: Update account",
    "Events: deliver records/to-review",
    "Workflows: run review",
    "Workflows: action Share",
  ];
  assert.deepEqual(hops.slice(0, 2), path.slice(0, 2), "the trace's first hops: " + hops.join(" | "));
  const at = path.map((h) => hops.indexOf(h));
  assert.ok(at.every((i, n) => i >= 0 && (n === 0 || i > at[n - 1])), "the path in causal order: " + hops.join(" | "));
  assert.ok(hops.indexOf("Events: deliver records/to-audit") > 1, "the audit delivery after the change: " + hops.join(" | "));
  const failedAt = at[4];
  for (const r of rows) {
    assert.match(r[2], /^\+(<1|\d+(\.\d+)?) m?s$/, "start offset: " + r);
    assert.match(r[3], /^(<1 ms|\d+ ms|\d+\.\d+ s)$/, "duration: " + r);
  }
  assert.match(rows[failedAt][5], /^Failed .*/, "the failing action's outcome: " + rows[failedAt]);
  assert.match(rows[0][5], /^Succeeded$/);
  assert.equal(await page.locator("table.trace tr.failed").count(), 1);
  const alert = await page.locator("#page [role=alert]").innerText();
  assert.match(alert, /hop\(s\) in .* · failed at Workflows: action Share — /);
  // A hop's attributes, one click away.
  await page.locator("table.trace tr.failed").click();
  await page.waitForSelector(".trace-detail th >> text=junction.action_type");
  assert.match(await page.locator(".trace-detail").innerText(), /Compose/);
  const body = await page.textContent("body");
  for (const bad of ["undefined", "[object Object]", "NaN"]) assert.ok(!body.includes(bad), "page shows " + bad);
  await page.screenshot({ path: SHOTS + "/console-trace.png", fullPage: true });

  // The failed run links to the same trace.
  await page.click("nav >> text=Workflows");
  await page.click("td >> text=review");
  await page.click("span.badge.Failed >> nth=0");
  await page.locator("a.follow").click();
  await page.waitForSelector("table.trace");
  assert.equal(new URL(page.url()).hash, "#/traces/" + TRACE);

  // The message the update put on the audit queue opens as tables of its
  // fields, and follows to the same trace.
  const fieldOf = (holder, name) => holder.locator("table.fields tr", { has: page.locator(`th:text-matches("(^|\\.)${name}$")`) }).first().locator("td").innerText();
  await page.goto(BASE + "/console/#/messaging/queue/audit");
  await page.locator("#page tr.clickable").first().click();
  const message = page.locator(".msg-detail .card");
  assert.equal(await fieldOf(message, "after.name"), "Contoso Ltd");
  assert.equal(await fieldOf(message, "aeg-subscription-name"), "to-audit");
  await message.locator("a.follow").click();
  await page.waitForSelector("table.trace");
  assert.equal(new URL(page.url()).hash, "#/traces/" + TRACE);

  // A contact's update was dead-lettered on its way to a missing queue: the
  // event opens as a table of its fields and follows to its trace.
  await page.goto(BASE + "/console/#/events/records/to-archive");
  await page.waitForSelector("h3 >> text=Dead letters (1)");
  const row = await page.locator("#page tr.clickable").first().evaluate((tr) => [...tr.cells].map((td) => td.innerText.trim()));
  assert.equal(row[2], "Junction.Records.Update", "type: " + row);
  assert.match(row[4], /\S/, "reason: " + row);
  assert.equal(row[8], "Follow this change");
  await page.locator("#page tr.clickable").first().click();
  const event = page.locator(".event-detail .card");
  assert.equal(await fieldOf(event, "after.firstname"), "Jo");
  await event.locator("a.follow").click();
  await page.waitForSelector("table.trace");
  assert.equal(new URL(page.url()).hash, "#/traces/" + CONTACT_TRACE);
  assert.match(await page.locator("#page [role=alert]").innerText(), /failed at Events: deliver records\/to-archive — .*archive/);

  // An unknown trace says why it is not there.
  await page.goto(BASE + "/console/#/traces/0123456789abcdef0123456789abcdef");
  await page.waitForSelector("text=No span of this trace is recorded");
  assert.deepEqual(failures, []);
  console.log("console trace: ok");
} finally {
  await browser.close();
}
