// Drives change tracking with the dynamics-web-api client across the change
// log's retention. PHASE=track does a full sync and prints its delta link;
// PHASE=expired follows DELTA_LINK (whose changes retention has deleted),
// expects ExpiredVersionStamp, and syncs in full again as a client must.
import assert from "node:assert/strict";
import { DynamicsWebApi } from "dynamics-web-api";

const api = new DynamicsWebApi({
  serverUrl: process.env.SERVER_URL,
  dataApi: { version: "9.2" },
  onTokenRefresh: async () => process.env.TOKEN,
});

const fullSync = async () => {
  const res = await api.retrieveMultiple({ collection: "accounts", select: ["name"], trackChanges: true });
  assert.ok(res.oDataDeltaLink, "a full sync returns a delta link");
  return res;
};

if (process.env.PHASE === "track") {
  const res = await fullSync();
  console.log(`rows ${res.value.length}`);
  console.log(`delta ${res.oDataDeltaLink}`);
} else {
  await assert.rejects(api.retrieveMultiple({ collection: "accounts" }, process.env.DELTA_LINK), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, "0x80044352");
    assert.match(e.message, /Please perform a full sync/);
    return true;
  });
  console.log("ok the expired delta link answers ExpiredVersionStamp");
  const res = await fullSync();
  console.log(`rows ${res.value.length}`);
  const changes = await api.retrieveMultiple({ collection: "accounts" }, res.oDataDeltaLink);
  assert.equal(changes.value.length, 0);
  console.log("ok the new delta link follows");
}
