// Drives Junction's Web API with the dynamics-web-api client, unchanged.
// SERVER_URL and TOKEN come from the Go test that started Junction.
import assert from "node:assert/strict";
import { DynamicsWebApi } from "dynamics-web-api";

const api = new DynamicsWebApi({
  serverUrl: process.env.SERVER_URL,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => process.env.TOKEN,
});
const named = new DynamicsWebApi({
  serverUrl: process.env.SERVER_URL,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => process.env.TOKEN,
  useEntityNames: true,
});

const steps = [];
const step = (name, fn) => steps.push([name, fn]);
const state = {};

step("create", async () => {
  state.id = await api.create({ collection: "accounts", data: { name: "JS Account", accountnumber: "JS-1", revenue: 1234.5 } });
  assert.match(state.id, /^[0-9a-f-]{36}$/);
});
step("create with representation", async () => {
  const rec = await api.create({ collection: "contacts", data: { lastname: "Doe", firstname: "Jane", "parentcustomerid_account@odata.bind": `accounts(${state.id})` }, returnRepresentation: true, select: ["lastname"] });
  assert.equal(rec.lastname, "Doe");
  state.contact = rec.contactid;
});
step("retrieve", async () => {
  const rec = await api.retrieve({ collection: "accounts", key: state.id, select: ["name", "revenue"], includeAnnotations: "OData.Community.Display.V1.FormattedValue" });
  assert.equal(rec.name, "JS Account");
  assert.equal(rec.revenue, 1234.5);
  assert.equal(rec["revenue@OData.Community.Display.V1.FormattedValue"], "$1,234.50");
  assert.equal(rec.oDataContext === undefined || typeof rec.oDataContext === "string", true);
});
step("retrieve by alternate key", async () => {
  const rec = await api.retrieve({ collection: "accounts", key: "accountnumber='JS-1'", select: ["name"] });
  assert.equal(rec.accountid, state.id);
});
step("update", async () => {
  const ok = await api.update({ collection: "accounts", key: state.id, data: { name: "JS Account 2" } });
  assert.ok(ok === true || ok === undefined || typeof ok === "object");
  const rec = await api.retrieve({ collection: "accounts", key: state.id, select: ["name"] });
  assert.equal(rec.name, "JS Account 2");
});
step("upsert", async () => {
  await api.upsert({ collection: "accounts", key: "accountnumber='JS-2'", data: { name: "Upserted" } });
  await api.upsert({ collection: "accounts", key: "accountnumber='JS-2'", data: { name: "Upserted again" } });
  const rec = await api.retrieve({ collection: "accounts", key: "accountnumber='JS-2'", select: ["name"] });
  assert.equal(rec.name, "Upserted again");
});
step("retrieveMultiple with filter, expand and count", async () => {
  const res = await api.retrieveMultiple({
    collection: "accounts", select: ["name"], filter: "startswith(name,'js')", orderBy: ["name"], count: true,
    expand: [{ property: "contact_customer_accounts", select: ["lastname"] }],
  });
  assert.equal(res.value.length, 1);
  assert.equal(res.oDataCount ?? res["@odata.count"], 1);
  assert.equal(res.value[0].contact_customer_accounts[0].lastname, "Doe");
});
step("retrieveAll over several pages", async () => {
  const ids = await api.callAction({ collection: "accounts", actionName: "Microsoft.Dynamics.CRM.CreateMultiple",
    action: { Targets: Array.from({ length: 23 }, (_, i) => ({ "@odata.type": "Microsoft.Dynamics.CRM.account", name: `Paged ${i}` })) } });
  assert.equal(ids.Ids.length, 23);
  const all = await api.retrieveAll({ collection: "accounts", select: ["name"], filter: "startswith(name,'Paged')", maxPageSize: 5 });
  assert.equal(all.value.length, 23);
});
step("count", async () => {
  const n = await api.count({ collection: "accounts", filter: "startswith(name,'Paged')" });
  assert.equal(n, 23);
});
step("fetchXml and fetchAll", async () => {
  const fx = `<fetch count="4"><entity name="account"><attribute name="name"/><order attribute="name"/><filter><condition attribute="name" operator="like" value="Paged%"/></filter></entity></fetch>`;
  const page = await api.fetch({ collection: "accounts", fetchXml: fx });
  assert.equal(page.value.length, 4);
  assert.equal(page.PagingInfo.nextPage, 2);
  const all = await api.fetchAll({ collection: "accounts", fetchXml: fx });
  assert.equal(all.value.length, 23);
});
step("executeBatch with a changeset", async () => {
  api.startBatch();
  api.create({ collection: "accounts", data: { name: "Batch A" }, contentId: "1" });
  api.create({ collection: "contacts", data: { lastname: "Batch kid", "parentcustomerid_account@odata.bind": "$1" } });
  api.retrieveMultiple({ collection: "accounts", select: ["name"], filter: "name eq 'Batch A'" });
  const results = await api.executeBatch({ inChangeSet: true });
  assert.equal(results.length, 3);
  assert.match(String(results[0]), /^[0-9a-f-]{36}$/);
  assert.equal(results[2].value.length, 1);
});
step("callAction creates a Case and returns its ticket number", async () => {
  const res = await api.callAction({ actionName: "new_CreateCase", action: { Title: "From JS", CustomerId: state.id } });
  assert.match(res.TicketNumber, /^CAS-\d{5}-[A-Z0-9]{6}$/);
  state.ticket = res.TicketNumber;
});
step("callFunction", async () => {
  const who = await api.callFunction("WhoAmI");
  assert.match(who.UserId, /^[0-9a-f-]{36}$/);
  const n = await api.callFunction({ functionName: "new_CountOpenCases", parameters: { CustomerId: state.id } });
  assert.equal(n.Count, 1);
});
step("useEntityNames", async () => {
  const rec = await named.retrieve({ collection: "incident", key: `ticketnumber='${state.ticket}'`, select: ["title"] });
  assert.equal(rec.title, "From JS");
});
step("nested expand with every option (';' unencoded)", async () => {
  const rec = await api.retrieve({
    collection: "accounts", key: state.id, select: ["name"],
    expand: [{ property: "contact_customer_accounts", select: ["lastname", "firstname"], filter: "lastname eq 'Doe'", orderBy: ["lastname desc"], top: 5, count: true,
      expand: [{ property: "incident_customer_contacts", select: ["title"] }] }],
  });
  assert.equal(rec.contact_customer_accounts.length, 1);
  assert.equal(rec["contact_customer_accounts@odata.count"], 1);
  assert.equal(rec.contact_customer_accounts[0].firstname, "Jane");
  assert.deepEqual(rec.contact_customer_accounts[0].incident_customer_contacts, []);
});
step("parameter aliases for property names", async () => {
  const res = await api.retrieveMultiple({ collection: "accounts", select: ["name"], filter: "contains(@p1,'Paged 1')", orderBy: ["@p2 desc"], queryParams: ["@p1=name", "@p2=name"] });
  assert.deepEqual(res.value.map((r) => r.name), ["Paged 19", "Paged 18", "Paged 17", "Paged 16", "Paged 15", "Paged 14", "Paged 13", "Paged 12", "Paged 11", "Paged 10", "Paged 1"]);
});
step("count on a related collection", async () => {
  const n = await api.count({ collection: `accounts(${state.id})/contact_customer_accounts` });
  assert.equal(n, 1);
});
step("aggregates with $apply", async () => {
  const res = await api.retrieveMultiple({ collection: "accounts", apply: "filter(startswith(name,'Paged'))/aggregate($count as n)" });
  assert.deepEqual(res.value, [{ n: 23 }]);
  const rel = await api.retrieveMultiple({ collection: `accounts(${state.id})/contact_customer_accounts`, apply: "groupby((lastname),aggregate($count as n))" });
  assert.deepEqual(rel.value, [{ lastname: "Doe", n: 1 }]);
});
step("messages: FormatAddress, RetrieveTotalRecordCount, InitializeFrom, RetrieveCurrentOrganization", async () => {
  const a = await api.callFunction({ functionName: "FormatAddress", parameters: { Line1: "123 Maple St.", City: "Seattle", StateOrProvince: "WA", PostalCode: "98007", Country: "USA" } });
  assert.equal(a.Address, "123 Maple St.\r\nSeattle, WA 98007\r\nUSA");
  const c = await api.callFunction({ functionName: "RetrieveTotalRecordCount", parameters: { EntityNames: ["incident"] } });
  assert.deepEqual(c.EntityRecordCountCollection.Keys, ["incident"]);
  assert.equal(c.EntityRecordCountCollection.Values[0], 1);
  const init = await api.callFunction({ functionName: "InitializeFrom", parameters: { EntityMoniker: { "@odata.id": `accounts(${state.id})` }, TargetEntityName: "contact", TargetFieldType: "Microsoft.Dynamics.CRM.TargetFieldType'ValidForCreate'" } });
  assert.equal(init["parentcustomerid_account@odata.bind"], `accounts(${state.id})`);
  const org = await api.callFunction({ functionName: "RetrieveCurrentOrganization", parameters: { AccessType: "Microsoft.Dynamics.CRM.EndpointAccessType'Default'" } });
  assert.equal(org.Detail.State, "Enabled");
});
step("delete", async () => {
  await api.deleteRecord({ collection: "contacts", key: state.contact });
  await assert.rejects(api.retrieve({ collection: "contacts", key: state.contact }), (e) => e.status === 404);
});
step("errors carry the Dataverse code", async () => {
  await assert.rejects(api.create({ collection: "accounts", data: { name: "x".repeat(200) } }), (e) => e.status === 400 && e.code === "0x80044331");
});

let failed = 0;
for (const [name, fn] of steps) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : JSON.stringify(e)}`);
  }
}
process.exit(failed ? 1 : 0);
